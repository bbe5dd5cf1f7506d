package executor

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/moby/buildkit/util/system"

	"github.com/kiln-build/kiln/internal/snapshot"
	"github.com/kiln-build/kiln/internal/testutil"
)

// env is one runner and one plain-directory busybox rootfs.
type env struct {
	r      *Runner
	state  string
	rootfs string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	testutil.RequireRoot(t)
	state := t.TempDir()
	r, err := NewRunner(state, snapshot.RootCaps)
	if err != nil {
		t.Fatal(err)
	}
	rootfs := t.TempDir()
	testutil.BusyboxRootfs(t, rootfs)
	return &env{r: r, state: state, rootfs: rootfs}
}

// run runs script with sh -c and returns stdout; stderr goes to the test log.
func (e *env) run(t *testing.T, s Spec, script string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	if s.Rootfs == "" {
		s.Rootfs = e.rootfs
	}
	s.ID = t.Name()
	s.Args = []string{"/bin/sh", "-c", script}
	s.Stdout, s.Stderr = &out, &errOut
	err := e.r.Run(context.Background(), s)
	if errOut.Len() > 0 {
		t.Logf("stderr: %s", errOut.String())
	}
	return out.String(), err
}

func (e *env) mustRun(t *testing.T, s Spec, script string) string {
	t.Helper()
	out, err := e.run(t, s, script)
	if err != nil {
		t.Fatalf("running %q: %v", script, err)
	}
	return out
}

func TestEcho(t *testing.T) {
	e := newEnv(t)
	if out := e.mustRun(t, Spec{}, "echo hi"); out != "hi\n" {
		t.Fatalf("output %q, want %q", out, "hi\n")
	}
}

func TestExitCode(t *testing.T) {
	e := newEnv(t)
	_, err := e.run(t, Spec{}, "exit 3")
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != 3 {
		t.Fatalf("error %v, want ExitError{3}", err)
	}
}

func TestCommandNotFound(t *testing.T) {
	e := newEnv(t)
	err := e.r.Run(context.Background(), Spec{ID: "x", Rootfs: e.rootfs, Args: []string{"/nonexistent"}})
	if err == nil {
		t.Fatal("want an error")
	}
	t.Logf("error: %v", err)
}

func TestEnvCwdUser(t *testing.T) {
	e := newEnv(t)
	passwd := filepath.Join(e.rootfs, "etc", "passwd")
	f, err := os.OpenFile(passwd, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("app:x:1234:2345::/home/app:/bin/sh\n")
	f.Close()
	os.WriteFile(filepath.Join(e.rootfs, "etc", "group"), []byte("root:x:0:\napp:x:2345:\nextra:x:3000:app\n"), 0o644)

	out := e.mustRun(t, Spec{Env: []string{"FOO=bar"}, Cwd: "/work/dir", User: "app"},
		`echo "$FOO $PATH"; pwd; id -u; id -g; id -G; hostname; cat /etc/hosts`)
	lines := strings.Split(out, "\n")
	want := []string{"bar " + system.DefaultPathEnvUnix, "/work/dir", "1234", "2345", "2345 3000", DefaultHostname}
	for i, w := range want {
		if i >= len(lines) || lines[i] != w {
			t.Fatalf("line %d: got %q, want %q\nfull output:\n%s", i, lines[i], w, out)
		}
	}
	fi, err := os.Stat(filepath.Join(e.rootfs, "work", "dir"))
	if err != nil {
		t.Fatalf("cwd not kept: %v", err)
	}
	if st := fi.Sys().(*syscall.Stat_t); st.Uid != 1234 || st.Gid != 2345 {
		t.Errorf("cwd owned by %d:%d, want 1234:2345", st.Uid, st.Gid)
	}
}

func TestEtcFiles(t *testing.T) {
	e := newEnv(t)
	host, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		t.Fatal(err)
	}
	out := e.mustRun(t, Spec{Hostname: "h1", ExtraHosts: []string{"db:10.1.2.3"}}, "cat /etc/resolv.conf; cat /etc/hosts; hostname")
	want := string(host) + "127.0.0.1\tlocalhost h1\n::1\tlocalhost ip6-localhost ip6-loopback\n10.1.2.3\tdb\nh1\n"
	if out != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
}

func TestCancelledBeforeStart(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := e.r.Run(ctx, Spec{ID: "x", Rootfs: e.rootfs, Args: []string{"sleep", "60"}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if ids, _ := e.r.state().List(context.Background()); len(ids) != 0 {
		t.Errorf("containers left: %v", ids)
	}
}

func TestNewRunnerWithoutRunc(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := NewRunner(t.TempDir(), snapshot.RootCaps)
	if err == nil || !strings.Contains(err.Error(), "install the runc package") {
		t.Fatalf("error %v, want a hint to install runc", err)
	}
}

func TestParallelRuns(t *testing.T) {
	e := newEnv(t)
	errc := make(chan error, 4)
	for i := range 4 {
		go func() {
			var out bytes.Buffer
			err := e.r.Run(context.Background(), Spec{ID: "p", Rootfs: e.rootfs, Args: []string{"echo", strings.Repeat("x", i)}, Stdout: &out})
			if err == nil && out.String() != strings.Repeat("x", i)+"\n" {
				err = errors.New("wrong output " + out.String())
			}
			errc <- err
		}()
	}
	for range 4 {
		if err := <-errc; err != nil {
			t.Error(err)
		}
	}
}
