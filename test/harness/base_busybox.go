package harness

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-build/kiln/internal/testutil"
)

// Busybox is busybox:test: a root filesystem from the host's
// busybox-static (internal/testutil.BusyboxRootfs), gzip-compressed.
var Busybox = &Base{
	Name: "busybox:test",
	slug: "busybox",
	make: func(t testing.TB, b *Base, dir string, st Opts) string {
		b.rootfs = filepath.Join(dir, "busybox")
		testutil.BusyboxRootfs(t, b.rootfs)
		return importRootfs(t, st, b.rootfs, b.Name)
	},
}

// Golang is golang:1.22-alpine, the name the seed's Dockerfiles use, so they
// stay verbatim: a busybox root filesystem with the host's Go toolchain in
// /usr/local/go (go and gofmt linked into /usr/local/bin), uncompressed.
var Golang = &Base{
	Name: "golang:1.22-alpine",
	slug: "golang",
	need: func(testing.TB) string { return Missing("go") },
	make: func(t testing.TB, b *Base, dir string, st Opts) string {
		return makeGolang(t, b, dir, st, false)
	},
}

// GolangWarm is Golang with the standard library already in the build
// cache of its /root/.cache/go-build (see warmGoCache), for tests whose
// builds only need Go to work: they then compile only their own packages.
// A test that asserts on that directory (a cache mount there, say) takes
// Golang.
var GolangWarm = &Base{
	Name: "golang:1.22-alpine",
	slug: "golang-warm",
	need: func(testing.TB) string { return Missing("go") },
	make: func(t testing.TB, b *Base, dir string, st Opts) string {
		return makeGolang(t, b, dir, st, true)
	},
}

func makeGolang(t testing.TB, b *Base, dir string, st Opts, warm bool) string {
	b.rootfs = filepath.Join(dir, "golang")
	testutil.BusyboxRootfs(t, b.rootfs)
	addGoToolchain(t, b.rootfs)
	if warm {
		warmGoCache(t, b.rootfs)
	}
	return importRootfs(t, st, b.rootfs, b.Name, "--compression", "uncompressed")
}

// addGoToolchain copies the host's GOROOT to /usr/local/go in rootfs, minus
// what compiling does not need, and links go and gofmt into /usr/local/bin
// (on the PATH kiln import gives an image).
func addGoToolchain(t testing.TB, rootfs string) {
	t.Helper()
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	goroot := strings.TrimSpace(string(out))
	dst := filepath.Join(rootfs, "usr", "local", "go")
	MkdirAll(t, filepath.Dir(dst))
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
	MkdirAll(t, bin)
	for _, tool := range []string{"go", "gofmt"} {
		if err := os.Symlink("/usr/local/go/bin/"+tool, filepath.Join(bin, tool)); err != nil {
			t.Fatal(err)
		}
	}
}
