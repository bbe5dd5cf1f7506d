// Package oracletest runs the test oracle: BuildKit's buildkitd (the
// version of kiln's Dockerfile parser, built by test/oracle) on a private
// socket, state dir and OTEL socket, with the test's own registry as its
// docker.io mirror, and two clients on it: buildctl and buildx (built by
// test/buildx, a `remote` builder in a private BUILDX_CONFIG), as users
// drive BuildKit.
//
//	reg := harness.StartRegistry(t)
//	reg.Push(t, harness.Busybox, "library/busybox:test")
//	o := oracletest.Start(t, reg)
//	r := o.Buildx(t, "build", "-o", "type=oci,dest="+tar, ctx)
package oracletest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kiln-build/kiln/internal/deathsig"
	"github.com/kiln-build/kiln/test/harness"
)

// Timeout bounds one client invocation.
const Timeout = 5 * time.Minute

// Oracle is one running buildkitd and the clients set up for it.
type Oracle struct {
	Addr    string // unix://…/buildkitd.sock
	Builder string // the buildx builder's name
	dir     string
	bkDir   string // buildkitd, buildctl
	buildx  string // the buildx binary
	cmd     *exec.Cmd
	done    chan struct{}
	logMu   sync.Mutex
	log     bytes.Buffer
}

// Start starts buildkitd for t (t.Cleanup stops it) with reg as its
// docker.io mirror, and creates the buildx builder on it. It skips t
// unless the machine can run kiln's builds (root, runc).
func Start(t testing.TB, reg *harness.Registry) *Oracle {
	t.Helper()
	harness.Require(t)
	// A short dir of its own: a socket path is limited to 108 bytes.
	dir, err := os.MkdirTemp("", "bk-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	o := &Oracle{dir: dir, Addr: "unix://" + filepath.Join(dir, "buildkitd.sock"), Builder: "kiln-oracle",
		bkDir: BuildKitDir(t), buildx: filepath.Join(BuildxDir(t), "buildx"), done: make(chan struct{})}
	cfg := filepath.Join(dir, "buildkitd.toml")
	harness.WriteFile(t, cfg, daemonConfig(reg.Addr), 0o644)
	// Every path private: buildkitd's default OTEL socket is one path in
	// /run/buildkit that a second daemon on the machine would take over.
	o.cmd = exec.Command(filepath.Join(o.bkDir, "buildkitd"), "--root", filepath.Join(dir, "root"),
		"--addr", o.Addr, "--otel-socket-path", filepath.Join(dir, "otel.sock"), "--config", cfg,
		"--allow-insecure-entitlement", "network.host", "--allow-insecure-entitlement", "security.insecure")
	o.cmd.Env = append(harness.Environ(), "TMPDIR="+filepath.Join(dir, "tmp"))
	harness.MkdirAll(t, filepath.Join(dir, "tmp"))
	o.cmd.Stdout, o.cmd.Stderr = (*logWriter)(o), (*logWriter)(o)
	wait, err := deathsig.Start(o.cmd) // it dies with the test binary
	if err != nil {
		t.Fatalf("starting buildkitd: %v", err)
	}
	go func() { _ = wait(); close(o.done) }()
	t.Cleanup(o.Stop)
	o.waitReady(t)
	if r := o.Buildx(t, "create", "--name", o.Builder, "--driver", "remote", o.Addr); r.Code != 0 {
		t.Fatalf("buildx create:\n%s", r)
	}
	return o
}

// daemonConfig is buildkitd.toml: the OCI worker on overlayfs (runc), no
// containerd worker, no garbage collection during a test, and the test
// registry, plain HTTP, as the docker.io mirror.
func daemonConfig(registry string) string {
	return fmt.Sprintf(`[worker.oci]
  enabled = true
  snapshotter = "overlayfs"
  gc = false
[worker.containerd]
  enabled = false
[registry."docker.io"]
  mirrors = [%q]
[registry.%q]
  http = true
  insecure = true
`, registry, registry)
}

type logWriter Oracle

func (w *logWriter) Write(p []byte) (int, error) {
	w.logMu.Lock()
	defer w.logMu.Unlock()
	return w.log.Write(p)
}

// Log returns what buildkitd has logged so far.
func (o *Oracle) Log() string {
	o.logMu.Lock()
	defer o.logMu.Unlock()
	return o.log.String()
}

func (o *Oracle) waitReady(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		if o.run(t, filepath.Join(o.bkDir, "buildctl"), nil, "--addr", o.Addr, "debug", "workers").Code == 0 {
			return
		}
		select {
		case <-o.done:
			t.Fatalf("buildkitd exited:\n%s", o.Log())
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("buildkitd did not answer within a minute:\n%s", o.Log())
		}
	}
}

// Stop sends buildkitd (only the process Start started) SIGTERM, SIGKILL
// after 10 s, and waits for it. It is idempotent.
func (o *Oracle) Stop() {
	select {
	case <-o.done:
		return
	default:
	}
	o.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-o.done:
	case <-time.After(10 * time.Second):
		o.cmd.Process.Kill()
		<-o.done
	}
}

// Buildctl runs buildctl against the daemon with args (after --addr).
func (o *Oracle) Buildctl(t testing.TB, args ...string) harness.Result {
	t.Helper()
	return o.run(t, filepath.Join(o.bkDir, "buildctl"), nil, append([]string{"--addr", o.Addr}, args...)...)
}

// Buildx runs buildx with args, in the private config where Start created
// the builder; "build" and "bake" use it unless args name another.
func (o *Oracle) Buildx(t testing.TB, args ...string) harness.Result {
	t.Helper()
	if len(args) > 0 && args[0] != "create" {
		args = append([]string{"--builder", o.Builder}, args...)
	}
	return o.run(t, o.buildx, o.BuildxEnv(), args...)
}

// BuildxEnv is the environment that reaches the builder: a private
// BUILDX_CONFIG and DOCKER_CONFIG (no credentials, proxies or builders of
// the machine), for tests that run buildx themselves.
func (o *Oracle) BuildxEnv() []string {
	return []string{"BUILDX_CONFIG=" + filepath.Join(o.dir, "buildx"), "DOCKER_CONFIG=" + filepath.Join(o.dir, "docker"),
		"BUILDX_NO_DEFAULT_LOAD=1"}
}

// BuildxBin is the path of the buildx binary.
func (o *Oracle) BuildxBin() string { return o.buildx }

func (o *Oracle) run(t testing.TB, bin string, env []string, args ...string) harness.Result {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = harness.Environ(env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	r := harness.Result{Args: append([]string{filepath.Base(bin)}, args...)}
	if err := cmd.Start(); err != nil {
		t.Fatalf("running %s: %v", bin, err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	var err error
	select {
	case err = <-waited:
	case <-time.After(Timeout):
		cmd.Process.Kill()
		<-waited
		t.Fatalf("%s did not finish within %v", strings.Join(r.Args, " "), Timeout)
	}
	r.Stdout, r.Stderr = stdout.String(), stderr.String()
	if exit, ok := err.(*exec.ExitError); ok {
		r.Code = exit.ExitCode()
	} else if err != nil {
		t.Fatalf("running %s: %v", bin, err)
	}
	return r
}
