package harness

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/kiln-build/kiln/internal/testutil"
)

// BusyboxMulti is busybox:multi, a two-platform index: linux/amd64 from the
// host's busybox-static, linux/arm64 from Debian's busybox-static:arm64
// (see Arm64BusyboxDeb). Its manifests are also named busybox:multi-amd64
// and busybox:multi-arm64. Building on its arm64 side needs
// qemu-aarch64-static; it is skipped without it.
var BusyboxMulti = &Base{
	Name: "busybox:multi",
	slug: "multi",
	need: func(t testing.TB) string {
		if why := Missing("qemu-aarch64-static", "dpkg-deb"); why != "" {
			return why
		}
		_, why := Arm64BusyboxDeb(t)
		return why
	},
	make: makeMulti,
}

func makeMulti(t testing.TB, b *Base, dir string, st Opts) string {
	deb, why := Arm64BusyboxDeb(t)
	if deb == "" {
		t.Fatal(why)
	}
	x := filepath.Join(dir, "deb")
	MkdirAll(t, x)
	if out, err := exec.Command("dpkg-deb", "-x", deb, x).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb -x %s: %v\n%s", deb, err, out)
	}
	armBB, err := os.ReadFile(filepath.Join(x, "bin", "busybox"))
	if err != nil {
		t.Fatal(err)
	}
	if m := ELFMachine(armBB); m != uint16(elf.EM_AARCH64) {
		t.Fatalf("%s: bin/busybox has e_machine %#x, want aarch64", deb, m)
	}
	amd := filepath.Join(dir, "amd64")
	testutil.BusyboxRootfs(t, amd)
	arm := filepath.Join(dir, "arm64")
	testutil.BusyboxRootfs(t, arm)
	WriteFile(t, filepath.Join(arm, "bin", "busybox"), string(armBB), 0o755)
	importRootfs(t, st, amd, "busybox:multi-amd64", "--platform", "linux/amd64")
	importRootfs(t, st, arm, "busybox:multi-arm64", "--platform", "linux/arm64")
	r := MustRun(t, st, "manifest", "create", b.Name, "busybox:multi-amd64", "busybox:multi-arm64")
	return strings.TrimSpace(r.Stdout)
}

// arm64Deb is where Arm64BusyboxDeb found the .deb, or why it did not.
var arm64Deb struct {
	once      sync.Once
	path, why string
}

// Arm64BusyboxDeb finds busybox-static:arm64's .deb: $KILN_TEST_ARM64_DEB,
// else /var/cache/kiln-test/ (where .ci/run downloads it), else `apt-get
// download` into the harness's work directory. It returns "" and the reason
// when none can be had.
func Arm64BusyboxDeb(t testing.TB) (path, why string) {
	t.Helper()
	arm64Deb.once.Do(func() { arm64Deb.path, arm64Deb.why = findArm64Deb(t) })
	return arm64Deb.path, arm64Deb.why
}

func findArm64Deb(t testing.TB) (string, string) {
	if p := os.Getenv("KILN_TEST_ARM64_DEB"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", "KILN_TEST_ARM64_DEB=" + p + ": " + err.Error()
		}
		return p, ""
	}
	if m, _ := filepath.Glob("/var/cache/kiln-test/busybox-static_*_arm64.deb"); len(m) > 0 {
		return m[0], ""
	}
	dir := filepath.Join(workDir(t), "deb")
	MkdirAll(t, dir)
	cmd := exec.Command("apt-get", "download", "-qq", "busybox-static:arm64")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	m, _ := filepath.Glob(filepath.Join(dir, "busybox-static_*_arm64.deb"))
	if err != nil || len(m) == 0 {
		return "", "no busybox-static:arm64 .deb (set KILN_TEST_ARM64_DEB, or run `dpkg --add-architecture arm64 && apt-get update` so `apt-get download busybox-static:arm64` works): " +
			strings.TrimSpace(string(out))
	}
	return m[0], ""
}

// ELFMachine returns e_machine of an ELF file (0x3E x86-64, 0xB7 aarch64),
// or 0 if data is not ELF.
func ELFMachine(data []byte) uint16 {
	if len(data) < 20 || string(data[:4]) != "\x7fELF" {
		return 0
	}
	if data[5] == 2 { // big endian
		return uint16(data[18])<<8 | uint16(data[19])
	}
	return uint16(data[19])<<8 | uint16(data[18])
}
