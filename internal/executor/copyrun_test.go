package executor

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/kiln-build/kiln/internal/snapshot"
	"github.com/kiln-build/kiln/internal/testutil"
)

// treeEnv is a copying-mode runner over a busybox tree.
func newTreeEnv(t *testing.T) *env {
	t.Helper()
	testutil.RequireRoot(t)
	r, err := NewRunner(t.TempDir(), snapshot.ContainerCaps)
	if err != nil {
		t.Fatal(err)
	}
	rootfs := t.TempDir()
	testutil.BusyboxRootfs(t, rootfs)
	return &env{r: r, rootfs: rootfs}
}

// A RUN in the tree runs chrooted as USER with its groups, env and
// workdir, sees /dev's nodes and the generated /etc files, exits with its
// code, and has no /proc.
func TestTreeRunUserEnvCwd(t *testing.T) {
	e := newTreeEnv(t)
	f, err := os.OpenFile(filepath.Join(e.rootfs, "etc", "passwd"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("app:x:1234:2345::/home/app:/bin/sh\n")
	f.Close()
	os.WriteFile(filepath.Join(e.rootfs, "etc", "group"), []byte("root:x:0:\napp:x:2345:\nextra:x:3000:app\n"), 0o644)
	var hidden []string
	out := e.mustRun(t, Spec{Env: []string{"FOO=bar"}, Cwd: "/work/dir", User: "app", ExtraHosts: []string{"db:10.1.2.3"},
		Hide: func(rel string) { hidden = append(hidden, rel) }},
		`echo "$FOO"; pwd; id -u; id -g; id -G; echo x > /dev/null && head -c 3 /dev/zero | wc -c; grep 10.1.2.3 /etc/hosts; test -e /proc/self || echo noproc; echo "$HOME"; ls /`)
	lines := strings.Split(out, "\n")
	// HOME as runc's init sets it: the user's home in /etc/passwd.
	want := []string{"bar", "/work/dir", "1234", "2345", "2345 3000", "3", "10.1.2.3\tdb", "noproc", "/home/app"}
	for i, w := range want {
		if i >= len(lines) || strings.TrimSpace(lines[i]) != w {
			t.Fatalf("line %d: got %q, want %q\nfull output:\n%s", i, lines[i], w, out)
		}
	}
	fi, err := os.Stat(filepath.Join(e.rootfs, "work", "dir"))
	if err != nil || fi.Sys().(*syscall.Stat_t).Uid != 1234 {
		t.Errorf("cwd not made for the user: %v", err)
	}
	for _, h := range []string{"dev/null", "dev/tty", "etc/hosts", "etc/resolv.conf"} {
		if !slices.Contains(hidden, h) {
			t.Errorf("%s not kept out of the layer (hidden %q)", h, hidden)
		}
	}
	// As runc's mount points in root mode, the directories stay.
	for _, d := range []string{"dev", "proc", "sys"} {
		if fi, err := os.Stat(filepath.Join(e.rootfs, d)); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o755 || slices.Contains(hidden, d) {
			t.Errorf("/%s: %v, %v, hidden %q", d, fi, err, hidden)
		}
	}
	_, err = e.run(t, Spec{}, "exit 7")
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != 7 {
		t.Fatalf("error %v, want ExitError{7}", err)
	}
}

// Mounts are copied in; a writable one's content is copied back, a
// read-only one's source never changes; targets are hidden.
func TestTreeRunMounts(t *testing.T) {
	e := newTreeEnv(t)
	cache, ro := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(cache, "old"), []byte("o"), 0o644)
	os.WriteFile(filepath.Join(ro, "data"), []byte("d"), 0o644)
	secret := filepath.Join(t.TempDir(), "s")
	os.WriteFile(secret, []byte("TOKEN"), 0o400)
	var hidden []string
	out := e.mustRun(t, Spec{Hide: func(rel string) { hidden = append(hidden, rel) }, Mounts: []Mount{
		{Type: "bind", Source: cache, Destination: "/var/cache/c", Options: []string{"rbind"}},
		{Type: "bind", Source: ro, Destination: "/src", Options: []string{"rbind", "ro"}},
		{Type: "bind", Source: secret, Destination: "/run/secrets/s", Options: []string{"rbind", "ro"}},
		{Type: "tmpfs", Source: "tmpfs", Destination: "/scratch"},
	}}, `cat /var/cache/c/old /src/data /run/secrets/s; echo n > /var/cache/c/new; rm /var/cache/c/old; echo x > /src/data; touch /scratch/t`)
	if out != "odTOKEN" {
		t.Errorf("output %q", out)
	}
	if b, err := os.ReadFile(filepath.Join(cache, "new")); err != nil || string(b) != "n\n" {
		t.Errorf("the cache did not get the step's file: %q %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(cache, "old")); err == nil {
		t.Error("a file the step removed from the cache is still there")
	}
	if b, _ := os.ReadFile(filepath.Join(ro, "data")); string(b) != "d" {
		t.Errorf("a read-only mount's source changed: %q", b)
	}
	for _, h := range []string{"var", "src", "run", "scratch"} {
		if !slices.Contains(hidden, h) {
			t.Errorf("%s not hidden (hidden %q)", h, hidden)
		}
	}
}

// A mount under a /dev the tree lacked (a heredoc's /dev/pipes) takes /dev
// out of the layer, as BuildKit's stub cleanup removes the parents it made;
// without such a mount /dev stays (TestTreeRunUserEnvCwd).
func TestTreeRunMountUnderMadeDev(t *testing.T) {
	e := newTreeEnv(t)
	if err := os.RemoveAll(filepath.Join(e.rootfs, "dev")); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(t.TempDir(), "script")
	os.WriteFile(script, []byte("echo hi\n"), 0o755)
	var hidden []string
	out := e.mustRun(t, Spec{Hide: func(rel string) { hidden = append(hidden, rel) }, Mounts: []Mount{
		{Type: "bind", Source: script, Destination: "/dev/pipes/script", Options: []string{"rbind", "ro"}},
	}}, `/bin/sh /dev/pipes/script`)
	if out != "hi\n" {
		t.Errorf("output %q", out)
	}
	if !slices.Contains(hidden, "dev") || slices.Contains(hidden, "dev/pipes") {
		t.Errorf("hidden %q, want dev (not dev/pipes)", hidden)
	}
}

// What the mode cannot do is an error, not a RUN without it.
func TestTreeRunRefuses(t *testing.T) {
	e := newTreeEnv(t)
	ulimit := []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 1062, Soft: 1062}}
	for _, s := range []Spec{{Network: NetworkNone}, {Insecure: true}, {Ulimits: ulimit}, {ShmSize: 128 << 20},
		{Mounts: []Mount{{Type: "tmpfs", Source: "tmpfs", Destination: "/dev/shm", Options: []string{"size=134217728"}}}}} {
		var out bytes.Buffer
		s.Rootfs, s.Args, s.Stdout = e.rootfs, []string{"/bin/sh", "-c", "echo ran"}, &out
		err := e.r.Run(context.Background(), s)
		if err == nil || !strings.Contains(err.Error(), "--isolation=container") || out.Len() > 0 {
			t.Errorf("%+v: error %v, output %q", s, err, out.String())
		}
	}
}

// Nothing a step starts outlives it.
func TestTreeRunKillsLeftovers(t *testing.T) {
	e := newTreeEnv(t)
	e.mustRun(t, Spec{}, "sleep 1000 > /dev/null 2>&1 & echo $! > /pid")
	pid, err := os.ReadFile(filepath.Join(e.rootfs, "pid"))
	if err != nil {
		t.Fatal(err)
	}
	var n int
	for _, c := range strings.TrimSpace(string(pid)) {
		n = n*10 + int(c-'0')
	}
	// Killed and reaped before Run returned.
	if err := syscall.Kill(n, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("the background process %d is still there: %v", n, err)
	}
}
