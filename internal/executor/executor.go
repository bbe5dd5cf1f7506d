// Package executor runs one Dockerfile RUN step in a mounted root filesystem
// with runc, from a runtime spec configured as BuildKit's runc worker
// configures it.
package executor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/kiln-build/kiln/internal/snapshot"
)

// Mount is an extra mount for a RUN step (bind, tmpfs, ...) in OCI terms.
type Mount struct {
	Type        string
	Source      string
	Destination string
	Options     []string
}

// Network modes for Spec.Network.
const (
	NetworkDefault = "default" // the host's network, as BuildKit's default
	NetworkHost    = "host"
	NetworkNone    = "none" // a new network namespace with only lo
)

// DefaultHostname is BuildKit's hostname for build containers.
const DefaultHostname = "buildkitsandbox"

// Spec describes one process to run in a root filesystem.
type Spec struct {
	ID         string   // container id prefix; a random suffix is added
	Rootfs     string   // absolute path of the mounted root filesystem
	UpperDir   string   // overlay upperdir of Rootfs whose mount stubs are removed afterwards, or ""
	Args       []string // argv
	Env        []string // KEY=VALUE; PATH defaults to BuildKit's default
	Cwd        string   // working directory, created (owned by User) if missing; "" means /
	User       string   // as in the Dockerfile: "", "name", "uid", "name:group", "uid:gid"
	Network    string   // "", NetworkDefault, NetworkHost or NetworkNone
	Hostname   string   // "" means DefaultHostname
	ExtraHosts []string // "name:ip" lines added to /etc/hosts
	ShmSize    int64    // bytes of /dev/shm; 0 keeps 64 MiB
	Ulimits    []specs.POSIXRlimit
	Insecure   bool // RUN --security=insecure (the caller checked the entitlement)
	Mounts     []Mount
	// Hide keeps a path of Rootfs (relative, slash-separated) out of the
	// layer: the copying mode's emulated mount targets (Active.Hide).
	Hide func(rel string)
	// Reserved says which paths of Rootfs the step must not write: the
	// builder container's mounts when Rootfs is its own root
	// (Active.Reserved). nil: none.
	Reserved func(rel string) bool
	// MountPoint is told of /dev, /proc and /sys when RUN uses the
	// container's own (Active.MountPoint). nil: nothing to tell.
	MountPoint func(rel string)
	Stdout     io.Writer // nil discards
	Stderr     io.Writer // nil discards
}

// ExitError reports that the process ran and exited with a non-zero code
// (128+N when killed by signal N).
type ExitError struct {
	Code int
}

func (e *ExitError) Error() string {
	return fmt.Sprintf("process exited with code %d", e.Code)
}

// Runner runs containers with the runc binary. Its state lives under one
// directory: runc's --root and the bundle directories.
type Runner struct {
	runc    string
	root    string // runc --root
	bundles string
	caps    snapshot.Capabilities
	// noNewKeyring: seccomp refuses keyctl, so runc must not make RUN a
	// session keyring (seccomp.go).
	noNewKeyring bool
	// noPivot: seccomp refuses pivot_root (seccomp.go).
	noPivot bool

	removing sync.WaitGroup // bundle removals Run started
}

// Wait waits for the bundle removals of finished runs.
func (r *Runner) Wait() { r.removing.Wait() }

// NewRunner finds runc on PATH and prepares stateDir (e.g. <store>/run).
// caps are what the snapshotter's mode can give a RUN: Run refuses a step
// that needs more.
func NewRunner(stateDir string, caps snapshot.Capabilities) (*Runner, error) {
	if caps.Copy {
		// No runc (runInTree). As the subreaper, kiln can wait for what a
		// step leaves running after killing it.
		if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
			return nil, fmt.Errorf("becoming the subreaper of RUN's processes: %w", err)
		}
		return &Runner{caps: caps}, nil
	}
	bin, err := exec.LookPath("runc")
	if err != nil {
		return nil, fmt.Errorf("finding runc (install the runc package): %w", err)
	}
	abs, err := filepath.Abs(stateDir)
	if err != nil {
		return nil, fmt.Errorf("resolving state dir: %w", err)
	}
	r := &Runner{runc: bin, root: filepath.Join(abs, "runc"), bundles: filepath.Join(abs, "bundles"), caps: caps,
		noNewKeyring: keyringRefused(), noPivot: pivotRootRefused()}
	for _, d := range []string{r.root, r.bundles} {
		// 0711 as BuildKit: bundles hold generated files, not secrets.
		if err := os.MkdirAll(d, 0o711); err != nil {
			return nil, fmt.Errorf("creating state dir: %w", err)
		}
	}
	return r, nil
}

// Run runs s to completion. A non-zero exit is an *ExitError. Cancelling
// ctx kills and deletes the container, and Run returns ctx.Err().
func (r *Runner) Run(ctx context.Context, s Spec) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := validate(&s); err != nil {
		return err
	}
	if r.caps.Copy {
		return r.runInTree(ctx, s)
	}
	if err := r.refuse(s); err != nil {
		return err
	}
	b, err := r.newBundle(s.ID)
	if err != nil {
		return err
	}
	defer func() {
		if err == nil {
			// After a run that succeeded, off the next step's path: a
			// bundle's few files take ms to unlink on a busy disk. Wait
			// waits for it; a bundle a killed kiln left is reaped.
			r.removing.Add(1)
			go func() {
				defer r.removing.Done()
				_ = os.RemoveAll(b.dir)
			}()
			return
		}
		if rmErr := os.RemoveAll(b.dir); rmErr != nil {
			err = errors.Join(err, fmt.Errorf("removing bundle: %w", rmErr))
		}
	}()

	uid, gid, sgids, err := ResolveUser(s.Rootfs, s.User)
	if err != nil {
		return err
	}
	if err := makeCwd(s.Rootfs, s.Cwd, int(uid), int(gid)); err != nil {
		return err
	}
	files, err := writeEtcFiles(b.dir, s)
	if err != nil {
		return err
	}
	spec, err := buildSpec(s, procUser{uid, gid, sgids}, files, r.caps)
	if err != nil {
		return err
	}
	if !r.caps.FreshProc {
		bindProc(spec)
	}
	var dropped []string
	if r.caps.Rootless {
		if dropped, err = toRootless(spec); err != nil {
			return err
		}
	}
	st, err := recordStubs(s.Rootfs, s.UpperDir, stubDestinations(s))
	if err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(b.dir, "config.json"), spec); err != nil {
		return err
	}
	runErr := r.runContainer(ctx, b, s.Stdout, s.Stderr)
	if runErr == nil && len(dropped) > 0 {
		runErr = makeDroppedStubs(s.Rootfs, dropped)
	}
	if s.UpperDir != "" {
		if err := st.clean(s.UpperDir); err != nil {
			return errors.Join(runErr, err)
		}
	}
	return runErr
}

func validate(s *Spec) error {
	if !filepath.IsAbs(s.Rootfs) {
		return fmt.Errorf("checking spec: rootfs %q is not an absolute path", s.Rootfs)
	}
	if len(s.Args) == 0 {
		return errors.New("checking spec: no command to run")
	}
	s.Cwd = filepath.Join("/", s.Cwd)
	if s.Hostname == "" {
		s.Hostname = DefaultHostname
	}
	switch s.Network {
	case "", NetworkDefault, NetworkHost, NetworkNone:
	default:
		return fmt.Errorf("checking spec: unknown network mode %q", s.Network)
	}
	if s.Stdout == nil {
		s.Stdout = io.Discard
	}
	if s.Stderr == nil {
		s.Stderr = io.Discard
	}
	return nil
}

// refuse names what s needs and the mode cannot give, instead of running
// the step without it.
func (r *Runner) refuse(s Spec) error {
	if s.Network == NetworkNone && !r.caps.NetNS {
		return fmt.Errorf("RUN --network=none needs a network namespace, which the %s mode cannot make: not supported yet", r.caps.Mode)
	}
	if s.Network == NetworkNone && !hasNetAdmin() {
		return fmt.Errorf("RUN --network=none needs CAP_NET_ADMIN, which kiln lacks here (runc brings up lo in the step's network namespace): add NET_ADMIN to the container's capabilities (in a user namespace it counts only there)")
	}
	return nil
}
