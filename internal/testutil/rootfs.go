// Package testutil holds helpers shared by kiln's tests: a minimal BusyBox
// root filesystem made from the host's busybox-static, and root checks.
package testutil

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// BusyboxPath is where Debian's busybox-static installs its binary.
const BusyboxPath = "/bin/busybox"

const passwdFile = `root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
`

// nogroup is what BusyBox's adduser -S puts system users in (as Alpine has it).
const groupFile = `root:x:0:
nogroup:x:65533:
nobody:x:65534:
`

// BusyboxRootfs writes a minimal root filesystem into dir from the host's
// Debian busybox-static: bin/busybox, a symlink per applet in bin/, etc/passwd,
// etc/group, tmp (1777), root (0700), and shell stand-ins for the applets
// Debian's build leaves out (adduser, addgroup). It deliberately creates no
// proc, dev or sys so tests see the mount stubs the runtime would create.
func BusyboxRootfs(t testing.TB, dir string) {
	t.Helper()
	for _, d := range []string{"bin", "etc", "root", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatalf("creating rootfs dir: %v", err)
		}
	}
	chmod(t, filepath.Join(dir, "tmp"), os.ModeSticky|0o777)
	chmod(t, filepath.Join(dir, "root"), 0o700)

	data, err := os.ReadFile(BusyboxPath)
	if err != nil {
		t.Fatalf("reading busybox (install the busybox-static package): %v", err)
	}
	writeFile(t, filepath.Join(dir, "bin", "busybox"), data, 0o755)

	applets := busyboxApplets(t)
	for _, a := range applets {
		if a == "busybox" || strings.Contains(a, "/") {
			continue
		}
		if err := os.Symlink("busybox", filepath.Join(dir, "bin", a)); err != nil && !os.IsExist(err) {
			t.Fatalf("linking applet %s: %v", a, err)
		}
	}
	writeFile(t, filepath.Join(dir, "etc", "passwd"), []byte(passwdFile), 0o644)
	writeFile(t, filepath.Join(dir, "etc", "group"), []byte(groupFile), 0o644)

	have := map[string]bool{}
	for _, a := range applets {
		have[a] = true
	}
	if !have["adduser"] {
		writeFile(t, filepath.Join(dir, "bin", "adduser"), []byte(adduserScript), 0o755)
	}
	if !have["addgroup"] {
		writeFile(t, filepath.Join(dir, "bin", "addgroup"), []byte(addgroupScript), 0o755)
	}
}

func busyboxApplets(t testing.TB) []string {
	t.Helper()
	out, err := exec.Command(BusyboxPath, "--list").Output()
	if err != nil {
		t.Fatalf("listing busybox applets: %v", err)
	}
	return strings.Fields(string(bytes.TrimSpace(out)))
}

func writeFile(t testing.TB, path string, data []byte, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatalf("writing %s: %v", path, err)
	}
	chmod(t, path, mode)
}

// chmod undoes the umask, which os.WriteFile and os.MkdirAll apply.
func chmod(t testing.TB, path string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		t.Fatalf("chmod %s: %v", path, err)
	}
}
