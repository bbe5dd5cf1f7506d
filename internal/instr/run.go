package instr

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"

	"github.com/kiln-build/kiln/internal/cachekey"
	"github.com/kiln-build/kiln/internal/emulate"
	"github.com/kiln-build/kiln/internal/executor"
	"github.com/kiln-build/kiln/internal/progress"
	"github.com/kiln-build/kiln/internal/snapshot"
	"github.com/kiln-build/kiln/internal/testhook"
)

func dispatchRun(ctx context.Context, e *Env, s *State, c *instructions.RunCommand) error {
	if err := emulate.Ensure(s.Arch); err != nil {
		return err
	}
	cmdLine := c.ShellDependantCmdLine
	var heredocMount *preparedMount
	if len(c.Files) > 0 {
		var err error
		if cmdLine.CmdLine, heredocMount, err = heredocArgs(c, e.Store.TempDir); err != nil {
			return err
		}
	}
	args := s.shellForm(cmdLine)
	network := e.Network
	// GetNetwork says "default" when RUN has no --network flag: only a
	// real flag overrides the build's --network.
	if n := instructions.GetNetwork(c); n != "" && n != instructions.NetworkDefault {
		network = n
	}
	if network == "" {
		network = "default"
	}
	// As BuildKit when it loads the LLB: an entitlement the build was not
	// granted fails the step, never a silently sandboxed or isolated run.
	if network == executor.NetworkHost && !e.RunOpts.Allow[EntitlementNetworkHost] {
		return fmt.Errorf("%s is not allowed", EntitlementNetworkHost)
	}
	insecure := instructions.GetSecurity(c) == instructions.SecurityInsecure
	if insecure && !e.RunOpts.Allow[EntitlementSecurityInsecure] {
		return fmt.Errorf("%s is not allowed", EntitlementSecurityInsecure)
	}
	pms, err := e.runMounts(ctx, s, instructions.GetMounts(c))
	if err != nil {
		return err
	}
	if heredocMount != nil {
		pms = append(pms, *heredocMount)
	}
	env := s.RunEnv()
	cwd, user := s.WorkDir(), s.Img.Config.Config.User
	// BuildKit's Dockerfile frontend takes RUN's hostname from this build
	// arg (no ARG needed), for every RUN of the build.
	hostname := e.BuildArgs["BUILDKIT_SANDBOX_HOSTNAME"]
	options := e.RunOpts.keyOptions()
	if hostname != "" {
		options = append(options, "hostname="+hostname)
	}
	if insecure {
		options = append(options, "security=insecure")
	}
	text := strings.Join(args, " ")
	ch := change{
		key: cachekey.Step{
			Op: "run", Args: args, Env: env, WorkDir: cwd, User: user,
			Network: network, Mounts: mountKeys(pms), Options: options,
		},
		name:    "RUN " + strings.Join(c.CmdLine, " "),
		history: "RUN " + runHistory(args, s.Args) + " # buildkit",
		apply: func(ctx context.Context, m *snapshot.Active, v *progress.Vertex) error {
			mounts, release, err := setupMounts(ctx, pms)
			if err != nil {
				return err
			}
			defer release()
			err = e.Runner.Run(ctx, executor.Spec{
				ID: "kiln", Rootfs: m.Root, UpperDir: m.UpperDir,
				Args: args, Env: append(append(append([]string(nil), env...), mountEnv(pms)...), e.proxyEnv()...),
				Cwd: cwd, User: user, Network: network, Hostname: hostname,
				Mounts: mounts, Stdout: v, Stderr: v,
				ExtraHosts: e.RunOpts.ExtraHosts, ShmSize: e.RunOpts.ShmSize, Ulimits: e.RunOpts.Ulimits, Insecure: insecure,
			})
			testhook.Point(testhook.Run) // exited, its changes not yet taken
			var exit *executor.ExitError
			if errors.As(err, &exit) {
				return fmt.Errorf("process %q did not complete successfully: exit code: %d", text, exit.Code)
			}
			return err
		},
	}
	return e.commit(ctx, s, ch)
}

// The entitlements a build can be granted with --allow, BuildKit's names.
const (
	EntitlementNetworkHost      = "network.host"
	EntitlementSecurityInsecure = "security.insecure"
)

// runHistory is BuildKit's created_by text: declared build args, counted,
// before the command ("|2 A=1 B=2 /bin/sh -c make").
func runHistory(args []string, buildArgs []KV) string {
	if len(buildArgs) == 0 {
		return strings.Join(args, " ")
	}
	parts := []string{fmt.Sprintf("|%d", len(buildArgs))}
	for _, a := range buildArgs {
		parts = append(parts, a.Key+"="+a.Value)
	}
	return strings.Join(append(parts, args...), " ")
}

// proxyArgs are the build args BuildKit predefines for proxies: RUN sees
// them without an ARG, but they stay out of the image, history and key.
var proxyArgs = []string{"HTTP_PROXY", "HTTPS_PROXY", "FTP_PROXY", "NO_PROXY", "ALL_PROXY"}

// proxyEnv exports each proxy build arg in both spellings, as BuildKit's
// llb.ProxyEnv does; given in both, the lower-case one wins (BuildKit reads
// the args in sorted order).
func (e *Env) proxyEnv() []string {
	var env []string
	for _, k := range proxyArgs {
		v, ok := e.BuildArgs[strings.ToLower(k)]
		if !ok {
			v, ok = e.BuildArgs[k]
		}
		if ok {
			env = append(env, k+"="+v, strings.ToLower(k)+"="+v)
		}
	}
	return env
}
