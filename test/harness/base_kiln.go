package harness

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// KilnBase is kiln-base, the base of kiln's own image (the repository's
// Dockerfile): scripts/mkkilnbase.sh's root filesystem from this machine's
// busybox-static, runc and uidmap packages.
var KilnBase = &Base{
	Name: "kiln-base",
	slug: "kiln-base",
	need: func(testing.TB) string { return Missing("runc", "newuidmap", "newgidmap", "ldd") },
	make: func(t testing.TB, b *Base, dir string, st Opts) string {
		b.rootfs = filepath.Join(dir, "kiln-base")
		script := filepath.Join(RepoRoot(t), "scripts", "mkkilnbase.sh")
		if out, err := exec.Command(script, b.rootfs).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", script, err, out)
		}
		return importRootfs(t, st, b.rootfs, b.Name)
	},
}

// RepoRoot is the directory of kiln's repository (its Dockerfile, scripts).
func RepoRoot(t testing.TB) string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("harness: cannot locate its own source")
	}
	return filepath.Join(filepath.Dir(file), "..", "..")
}
