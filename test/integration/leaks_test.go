package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// assertNoLeaks checks that no build left an overlay mount under the store,
// a runc container in the executor's state dir (<store>/run/runc, see
// executor.NewRunner) or a bundle directory.
func assertNoLeaks(t *testing.T) {
	t.Helper()
	info, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(info), "\n") {
		if strings.Contains(line, suiteRoot(t)) {
			t.Errorf("mount left under the store: %s", line)
		}
	}
	runcRoot := filepath.Join(suiteRoot(t), "run", "runc")
	out, err := exec.Command("runc", "--root", runcRoot, "list", "-q").CombinedOutput()
	if err != nil {
		t.Errorf("runc list: %v\n%s", err, out)
	} else if ids := strings.TrimSpace(string(out)); ids != "" {
		t.Errorf("runc containers left in %s: %s", runcRoot, ids)
	}
	bundles, err := os.ReadDir(filepath.Join(suiteRoot(t), "run", "bundles"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, b := range bundles {
		t.Errorf("bundle directory left: %s", b.Name())
	}
}

// storeTags lists the image names `kiln images` shows.
func storeTags(t *testing.T) map[string]bool {
	t.Helper()
	r := mustKiln(t, nil, "images")
	tags := map[string]bool{}
	for _, line := range strings.Split(r.Stdout, "\n")[1:] {
		if f := strings.Fields(line); len(f) > 0 {
			tags[f[0]] = true
		}
	}
	return tags
}

// assertTagged checks whether name is (want) or is not in the store.
func assertTagged(t *testing.T, name string, want bool) {
	t.Helper()
	if got := storeTags(t)[name]; got != want {
		t.Errorf("image %q in the store = %v, want %v (kiln images: %v)", name, got, want, storeTags(t))
	}
}
