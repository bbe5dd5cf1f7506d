package executor

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// overlay mounts lower with a fresh upperdir and returns (merged, upper).
func overlay(t *testing.T, lower string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	upper, work, merged := filepath.Join(dir, "u"), filepath.Join(dir, "w"), filepath.Join(dir, "m")
	for _, d := range []string{upper, work, merged} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	opts := "lowerdir=" + lower + ",upperdir=" + upper + ",workdir=" + work + ",redirect_dir=off,metacopy=off"
	if err := unix.Mount("overlay", merged, "overlay", 0, opts); err != nil {
		t.Fatalf("mounting overlay: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(merged, unix.MNT_DETACH) })
	return merged, upper
}

// tree lists the paths under dir, relative, sorted.
func tree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if p != dir {
			out = append(out, rel(dir, p))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func TestMountStubsRemoved(t *testing.T) {
	e := newEnv(t)
	merged, upper := overlay(t, e.rootfs)
	secret := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secret, []byte("s3cret"), 0o600)
	cache := t.TempDir()
	s := Spec{
		Rootfs:   merged,
		UpperDir: upper,
		Mounts: []Mount{
			{Type: "bind", Source: secret, Destination: "/run/secrets/token", Options: []string{"rbind", "ro"}},
			{Type: "bind", Source: cache, Destination: "/root/.cache/go", Options: []string{"rbind"}},
			{Type: "tmpfs", Source: "tmpfs", Destination: "/var/tmp/scratch"},
		},
	}
	out := e.mustRun(t, s, "touch /newfile; cat /run/secrets/token; touch /root/.cache/go/x /var/tmp/scratch/y")
	if out != "s3cret" {
		t.Errorf("secret read as %q", out)
	}
	// /dev, /proc and /sys stay, as BuildKit keeps them (runc creates them
	// on a rootfs that lacks them); every other stub goes.
	if got := strings.Join(tree(t, upper), " "); got != "dev newfile proc sys" {
		t.Errorf("upper holds %q, want dev newfile proc sys", got)
	}
	if _, err := os.Stat(filepath.Join(cache, "x")); err != nil {
		t.Errorf("cache mount not written: %v", err)
	}
}

// TestMountStubsKeptWithoutUpperDir shows what the cleaning removes: with
// no UpperDir the runtime's stubs stay in the overlay.
func TestMountStubsKeptWithoutUpperDir(t *testing.T) {
	e := newEnv(t)
	merged, upper := overlay(t, e.rootfs)
	e.mustRun(t, Spec{Rootfs: merged}, "true")
	got := strings.Join(tree(t, upper), " ")
	for _, stub := range []string{"dev", "etc/hosts", "etc/resolv.conf", "proc", "sys"} {
		if !strings.Contains(" "+got+" ", " "+stub+" ") {
			t.Errorf("upper %q lacks stub %s", got, stub)
		}
	}
}

// TestMountStubsKeepCommandWork checks that paths the command wrote to stay,
// even where a mount point stub was.
func TestMountStubsKeepCommandWork(t *testing.T) {
	e := newEnv(t)
	os.MkdirAll(filepath.Join(e.rootfs, "proc"), 0o555)
	merged, upper := overlay(t, e.rootfs)
	s := Spec{Rootfs: merged, UpperDir: upper, Cwd: "/app",
		Mounts: []Mount{{Type: "tmpfs", Source: "tmpfs", Destination: "/data/mnt"}}}
	e.mustRun(t, s, "echo x > /data/keep; chmod 700 /etc")
	want := "app data data/keep dev etc sys"
	if got := strings.Join(tree(t, upper), " "); got != want {
		t.Errorf("upper holds %q, want %q", got, want)
	}
}

func TestNestedMountDestinations(t *testing.T) {
	dests := []string{"/dev", "/dev/pts", "/sys", "/sys/fs/cgroup", "/devices", "/run/x"}
	var top []string
	for _, d := range dests {
		if !nestedInOther(d, dests) {
			top = append(top, d)
		}
	}
	if got := strings.Join(top, " "); got != "/dev /sys /devices /run/x" {
		t.Errorf("top-level destinations %q", got)
	}
}
