package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/kiln-build/kiln/internal/testutil"
)

const (
	busyboxImage = "busybox:test"
	// golangImage is the name the seed's Dockerfiles use, so they stay
	// verbatim: a busybox rootfs with the host's Go toolchain.
	golangImage = "golang:1.22-alpine"
)

var bases struct {
	once sync.Once
	err  string // set while making them; cleared on success
}

// baseImages imports busybox:test and golang:1.22-alpine into the shared
// store, once per run. A failure fails every test that needs them.
func baseImages(t *testing.T) {
	t.Helper()
	bases.once.Do(func() {
		bases.err = "making the base images failed (see the first test's output)"
		dir := filepath.Join(suite.tmp, "rootfs")
		bb := filepath.Join(dir, "busybox")
		testutil.BusyboxRootfs(t, bb)
		mustKiln(t, nil, "import", bb, "-t", busyboxImage)

		gol := filepath.Join(dir, "golang")
		testutil.BusyboxRootfs(t, gol)
		addGoToolchain(t, gol)
		mustKiln(t, nil, "import", gol, "-t", golangImage, "--compression", "uncompressed")
		bases.err = ""
	})
	if bases.err != "" {
		t.Fatal(bases.err)
	}
}

// addGoToolchain copies the host's GOROOT to /usr/local/go in rootfs, minus
// what compiling does not need, and links go and gofmt into /usr/local/bin
// (on the PATH kiln import gives an image).
func addGoToolchain(t *testing.T, rootfs string) {
	t.Helper()
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	goroot := strings.TrimSpace(string(out))
	dst := filepath.Join(rootfs, "usr", "local", "go")
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("cp", "-a", goroot, dst).CombinedOutput(); err != nil {
		t.Fatalf("copying GOROOT: %v\n%s", err, out)
	}
	drop := []string{"test", "doc", "api"}
	tools, _ := filepath.Glob(filepath.Join(dst, "pkg", "tool", "*"))
	for _, d := range tools {
		if filepath.Base(d) != "linux_amd64" {
			drop = append(drop, filepath.Join("pkg", "tool", filepath.Base(d)))
		}
	}
	for _, d := range drop {
		if err := os.RemoveAll(filepath.Join(dst, d)); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(rootfs, "usr", "local", "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tool := range []string{"go", "gofmt"} {
		if err := os.Symlink("/usr/local/go/bin/"+tool, filepath.Join(bin, tool)); err != nil {
			t.Fatal(err)
		}
	}
}
