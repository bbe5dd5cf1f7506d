package instr

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"

	"github.com/kiln-build/kiln/internal/cachekey"
	"github.com/kiln-build/kiln/internal/convert"
	"github.com/kiln-build/kiln/internal/emulate"
	"github.com/kiln-build/kiln/internal/executor"
	"github.com/kiln-build/kiln/internal/progress"
	"github.com/kiln-build/kiln/internal/snapshot"
	"github.com/kiln-build/kiln/internal/testhook"
)

// runRun runs what convert.RunOf says a RUN means, with its mounts, under
// runc, as a cached step.
func runRun(ctx context.Context, e *Worker, s *State, c *instructions.RunCommand, r convert.Run) error {
	if err := emulate.Ensure(s.Arch); err != nil {
		return err
	}
	// As BuildKit when it loads the LLB: an entitlement the build was not
	// granted fails the step, never a silently sandboxed or isolated run.
	if r.Network == executor.NetworkHost && !e.RunOpts.Allow[EntitlementNetworkHost] {
		return fmt.Errorf("%s is not allowed", EntitlementNetworkHost)
	}
	if r.Insecure && !e.RunOpts.Allow[EntitlementSecurityInsecure] {
		return fmt.Errorf("%s is not allowed", EntitlementSecurityInsecure)
	}
	pms, err := e.runMounts(ctx, s, instructions.GetMounts(c))
	if err != nil {
		return err
	}
	if r.Script != nil {
		e.Progress.Start(inlineDocumentLine).Done(nil)
		pms = append(pms, scriptMount(r.Script, e.Store.TempDir))
	}
	options := e.RunOpts.keyOptions()
	if r.Hostname != "" {
		options = append(options, "hostname="+r.Hostname)
	}
	if r.Insecure {
		options = append(options, "security=insecure")
	}
	ch := change{
		key: cachekey.Step{
			Op: "run", Args: r.Args, Env: r.Env, WorkDir: r.Cwd, User: r.User,
			Network: r.Network, Mounts: mountKeys(pms), Options: options,
		},
		name:    r.Name,
		history: r.History,
		apply: func(ctx context.Context, m *snapshot.Active, v *progress.Vertex) error {
			return e.run(ctx, r, pms, m, v)
		},
	}
	return e.commit(ctx, s, ch)
}

// run sets up the mounts and runs the process in the step's filesystem.
func (e *Worker) run(ctx context.Context, r convert.Run, pms []preparedMount, m *snapshot.Active, v *progress.Vertex) error {
	mounts, release, err := setupMounts(ctx, pms)
	if err != nil {
		return err
	}
	defer release()
	err = e.Runner.Run(ctx, executor.Spec{
		ID: "kiln", Rootfs: m.Root, UpperDir: m.UpperDir,
		Args: r.Args, Env: append(append(append([]string(nil), r.Env...), mountEnv(pms)...), r.ProxyEnv...),
		Cwd: r.Cwd, User: r.User, Network: r.Network, Hostname: r.Hostname,
		Mounts: mounts, Hide: m.Hide, Reserved: m.Reserved, MountPoint: m.MountPoint, Stdout: v, Stderr: v,
		ExtraHosts: e.RunOpts.ExtraHosts, ShmSize: e.RunOpts.ShmSize, Ulimits: e.RunOpts.Ulimits, Insecure: r.Insecure,
	})
	testhook.Point(testhook.Run) // exited, its changes not yet taken
	var exit *executor.ExitError
	if errors.As(err, &exit) {
		return fmt.Errorf("process %q did not complete successfully: exit code: %d", strings.Join(r.Args, " "), exit.Code)
	}
	return err
}

// The entitlements a build can be granted with --allow, BuildKit's names.
const (
	EntitlementNetworkHost      = "network.host"
	EntitlementSecurityInsecure = "security.insecure"
)
