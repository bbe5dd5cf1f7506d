package harness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Timeout bounds one kiln invocation (a cold Go build takes ~20-60 s, more
// on a loaded machine).
const Timeout = 5 * time.Minute

var kilnBin struct {
	once sync.Once
	path string
	err  string
}

// Kiln returns the path of the kiln binary, built from this module once per
// test binary with kiln-compose beside it. It skips t when the machine cannot run kiln's builds.
func Kiln(t testing.TB) string {
	t.Helper()
	Require(t, "go")
	kilnBin.once.Do(func() {
		kilnBin.err = "building kiln failed (see the first test's output)"
		path := filepath.Join(workDir(t), "kiln")
		// kiln-compose beside it: kiln bake reads compose files through it.
		out, err := exec.Command("go", "build", "-o", filepath.Dir(path)+"/",
			"github.com/kiln-build/kiln/cmd/kiln", "github.com/kiln-build/kiln/cmd/kiln-compose").CombinedOutput()
		if err != nil {
			t.Fatalf("building kiln and kiln-compose: %v\n%s", err, out)
		}
		kilnBin.path, kilnBin.err = path, ""
	})
	if kilnBin.err != "" {
		t.Fatal(kilnBin.err)
	}
	return kilnBin.path
}

// Opts is how one kiln invocation runs.
type Opts struct {
	Root   string   // --root, the store (required)
	Config string   // --config, a kiln.toml; "" for none
	Env    []string // K=V added to the environment (see Environ)
	Stdin  string   // standard input
	// Timeout replaces the package's Timeout (a Go build of kiln itself
	// with a cold cache takes minutes).
	Timeout time.Duration
}

// Environ is the environment of every kiln the harness runs: the test's own,
// with no kiln.toml from $KILN_CONFIG and no proxy (every server of the tests
// is on loopback; a request that leaks to the internet must fail, not be
// proxied), then extra.
func Environ(extra ...string) []string {
	env := append(os.Environ(), "KILN_CONFIG=", "HTTPS_PROXY=", "HTTP_PROXY=", "https_proxy=", "http_proxy=",
		"NO_PROXY=*", "no_proxy=*")
	return append(env, extra...)
}

// Result is one finished kiln invocation.
type Result struct {
	Args           []string // after "kiln"
	Stdout, Stderr string
	Code           int // exit code
}

// String shows the whole invocation, for failure messages.
func (r Result) String() string {
	return fmt.Sprintf("kiln %s\nexit code %d\n--- stdout ---\n%s\n--- stderr ---\n%s",
		strings.Join(r.Args, " "), r.Code, r.Stdout, r.Stderr)
}

// Command returns kiln set up to run args as o says, not started: for tests
// that signal or kill it. Its output goes nowhere until the caller sets it.
func Command(t testing.TB, o Opts, args ...string) *exec.Cmd {
	t.Helper()
	if o.Root == "" {
		t.Fatal("harness: kiln needs a store: Opts.Root is empty")
	}
	full := append([]string{"--root", o.Root}, args...)
	if o.Config != "" {
		full = append([]string{"--root", o.Root, "--config", o.Config}, args...)
	}
	cmd := exec.Command(Kiln(t), full...)
	cmd.Env = Environ(o.Env...)
	if o.Stdin != "" {
		cmd.Stdin = strings.NewReader(o.Stdin)
	}
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// Run runs kiln with args and returns what it printed and its exit code.
// It fails t only when kiln cannot run at all or overruns Timeout.
func Run(t testing.TB, o Opts, args ...string) Result {
	t.Helper()
	return runKilnFor(t, Command(t, o, args...), "kiln", o.Timeout)
}

// runKiln runs cmd (a kiln command line) and collects what it printed and
// its exit code; it fails t only when the command cannot run at all (what,
// e.g. "kiln as alice", names it) or overruns Timeout.
func runKiln(t testing.TB, cmd *exec.Cmd, what string) Result {
	t.Helper()
	return runKilnFor(t, cmd, what, Timeout)
}

// runKilnFor is runKiln with a timeout of its own (0: Timeout).
func runKilnFor(t testing.TB, cmd *exec.Cmd, what string, d time.Duration) Result {
	t.Helper()
	if d == 0 {
		d = Timeout
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	r := Result{Args: cmd.Args[1:]}
	err := runWithTimeout(cmd, d)
	r.Stdout, r.Stderr = stdout.String(), stderr.String()
	var exit *exec.ExitError
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		t.Fatalf("%s did not finish within %v:\n%s", what, d, r)
	case errors.As(err, &exit):
		r.Code = exit.ExitCode()
	case err != nil:
		t.Fatalf("running %s: %v\n%s", what, err, r)
	}
	return r
}

// MustRun is Run that fails t unless kiln exits 0.
func MustRun(t testing.TB, o Opts, args ...string) Result {
	t.Helper()
	r := Run(t, o, args...)
	if r.Code != 0 {
		t.Fatalf("kiln failed:\n%s", r)
	}
	return r
}

// runWithTimeout runs cmd, killing it after d (it then returns
// context.DeadlineExceeded).
func runWithTimeout(cmd *exec.Cmd, d time.Duration) error {
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		_ = cmd.Process.Kill()
		<-done
		return context.DeadlineExceeded
	}
}
