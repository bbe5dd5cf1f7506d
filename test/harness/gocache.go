package harness

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// warmGoCache fills the Go build cache of the golang base (/root/.cache/
// go-build, the default GOCACHE of a RUN as root) with the standard
// library packages a small program and its test need, by building, vetting
// and testing such a program in rootfs with its toolchain (chrooted).
// Every test that builds Go on this base then compiles only its own
// packages instead of the standard library: most of the CPU of a cold Go
// build. The program is not any test's, so no test finds its own build or
// test result cached.
func warmGoCache(t testing.TB, rootfs string) {
	t.Helper()
	src := filepath.Join(rootfs, "tmp", "kiln-warm")
	WriteFiles(t, src, map[string]string{
		"go.mod":       "module kiln.test/warm\n\ngo 1.22\n",
		"main.go":      "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"warm\") }\n",
		"main_test.go": "package main\n\nimport \"testing\"\n\nfunc TestWarm(t *testing.T) {}\n",
	})
	// go test runs the test binary with /dev/null as its standard input.
	dev := filepath.Join(rootfs, "dev")
	MkdirAll(t, dev)
	if err := unix.Mknod(filepath.Join(dev, "null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
		t.Fatalf("warming the golang base's build cache: %v", err)
	}
	env := []string{"PATH=/usr/local/go/bin:/usr/local/bin:/usr/bin:/bin", "HOME=/root", "TMPDIR=/tmp",
		"GOROOT=/usr/local/go", "GOTOOLCHAIN=local"}
	// CGO_ENABLED unset (no C compiler in the image: off) and 0, as the
	// seed's Dockerfiles have both.
	for _, extra := range [][]string{nil, {"CGO_ENABLED=0"}} {
		for _, args := range [][]string{{"build", "-o", "/tmp/kiln-warm.bin", "."}, {"vet", "."}, {"test", "."}} {
			cmd := exec.Command("/usr/local/go/bin/go", args...)
			cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: rootfs}
			cmd.Dir = "/tmp/kiln-warm" // in rootfs
			cmd.Env = append(env, extra...)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("warming the golang base's build cache: go %v: %v\n%s", args, err, out)
			}
		}
	}
	// Only the build cache stays: not the program, /dev, nor what else go
	// wrote (telemetry counters under /root/.config, GOPATH /root/go).
	for _, p := range []string{src, src + ".bin", dev, filepath.Join(rootfs, "root", ".config"), filepath.Join(rootfs, "root", "go")} {
		if err := os.RemoveAll(p); err != nil {
			t.Fatal(err)
		}
	}
}
