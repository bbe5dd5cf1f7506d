package harness

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// KilnImageTimeout bounds the build of kiln's image: a cold Go build of
// kiln inside RUN (7.5 minutes measured on a loaded 2-core machine).
const KilnImageTimeout = 15 * time.Minute

var kilnImage struct {
	once   sync.Once
	err    string
	build  Result
	tar    string // OCI tar
	rootfs string // the image exported to a directory
}

// KilnImage builds kiln's own image, the repository's Dockerfile, with
// kiln as root on this machine, once per test binary, and returns kiln's
// result, its OCI tar and its root filesystem. Nothing comes from the
// internet: kiln-base and the Go image are made here, and Go modules come
// from a proxy on loopback serving copies from this machine's module
// cache (GOPROXY, a build argument of the Dockerfile).
func KilnImage(t testing.TB) (Result, string, string) {
	t.Helper()
	Require(t, "go")
	kilnImage.once.Do(func() {
		st := NewStoreAt(t, filepath.Join(workDir(t), "kiln-image", "store"), Golang, KilnBase)
		kilnImage.err = "building kiln's image failed (see the first test that asked for it)"
		dir := filepath.Join(workDir(t), "kiln-image")
		proxy := goModuleProxy(t, filepath.Join(dir, "modules"))
		kilnImage.tar = filepath.Join(dir, "image.tar")
		kilnImage.rootfs = filepath.Join(dir, "rootfs")
		args := []string{"build", "--progress", "plain", "-t", "kiln:test",
			"--build-arg", "GO_IMAGE=" + Golang.Name, "--build-arg", "GOPROXY=" + proxy}
		o := st.Opts()
		o.Timeout = KilnImageTimeout
		kilnImage.build = MustRun(t, o, append(args, "-o", "type=oci,dest="+kilnImage.tar, RepoRoot(t))...)
		// The same build again, fully cached, to a directory for runc.
		MustRun(t, o, append(args, "-o", "type=local,dest="+kilnImage.rootfs, RepoRoot(t))...)
		kilnImage.err = ""
	})
	if kilnImage.err != "" {
		t.Fatal(kilnImage.err)
	}
	return kilnImage.build, kilnImage.tar, kilnImage.rootfs
}

// goModuleProxy serves, on loopback, the modules kiln's build needs (copied
// from this machine's module cache into dir) and returns its URL. It stays
// up for the test binary's life.
func goModuleProxy(t testing.TB, dir string) string {
	t.Helper()
	root := RepoRoot(t)
	list := exec.Command("go", "list", "-deps", "-f", "{{with .Module}}{{if not .Main}}{{.Path}}@{{.Version}}{{end}}{{end}}", "./cmd/kiln", "./cmd/kiln-compose")
	list.Dir = root
	out, err := list.Output()
	if err != nil {
		t.Fatalf("listing kiln's modules: %v", err)
	}
	mods := map[string]bool{}
	for _, m := range strings.Fields(string(out)) {
		mods[m] = true
	}
	cache, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"mod", "download"}
	for m := range mods {
		args = append(args, m)
	}
	dl := exec.Command("go", args...)
	dl.Dir = root
	dl.Env = append(os.Environ(), "GOMODCACHE="+dir, "GOFLAGS=-mod=mod -modcacherw",
		"GOPROXY=file://"+filepath.Join(strings.TrimSpace(string(cache)), "cache", "download"))
	if out, err := dl.CombinedOutput(); err != nil {
		t.Fatalf("copying kiln's modules from the module cache: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = http.Serve(ln, http.FileServer(http.Dir(filepath.Join(dir, "cache", "download")))) }()
	return "http://" + ln.Addr().String()
}
