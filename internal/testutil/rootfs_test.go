package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestUserScripts runs the adduser/addgroup stand-ins chrooted in a fresh
// rootfs and checks the passwd and group lines they write.
func TestUserScripts(t *testing.T) {
	RequireRoot(t)
	dir := t.TempDir()
	BusyboxRootfs(t, dir)
	script := `set -e
addgroup -S app
adduser -S -D -H -G app app
adduser -D -u 1500 -s /bin/sh dev
addgroup -g 2000 staff
addgroup dev staff
adduser -S -D -H sys
addgroup late -g 2100
adduser -S nextjs -u 1700 -G late
`
	out, err := exec.Command("chroot", dir, "/bin/sh", "-c", script).CombinedOutput()
	if err != nil {
		t.Fatalf("running scripts: %v\n%s", err, out)
	}
	passwd := readFile(t, filepath.Join(dir, "etc", "passwd"))
	group := readFile(t, filepath.Join(dir, "etc", "group"))
	for _, want := range []string{
		"app:x:100:100:Linux User,,,:/home/app:/bin/false",
		"dev:x:1500:1500:Linux User,,,:/home/dev:/bin/sh",
		"sys:x:101:65533:Linux User,,,:/home/sys:/bin/false",
		"nextjs:x:1700:2100:Linux User,,,:/home/nextjs:/bin/false",
	} {
		if !strings.Contains(passwd, want+"\n") {
			t.Errorf("passwd lacks %q:\n%s", want, passwd)
		}
	}
	for _, want := range []string{"app:x:100:app", "dev:x:1500:", "staff:x:2000:dev", "nogroup:x:65533:sys", "late:x:2100:nextjs"} {
		if !strings.Contains(group, want+"\n") {
			t.Errorf("group lacks %q:\n%s", want, group)
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, "home", "dev")); err != nil || fi.Mode()&os.ModeSetgid == 0 {
		t.Errorf("home of dev: %v %v", fi, err)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "tmp")); fi.Mode()&os.ModeSticky == 0 {
		t.Errorf("tmp is not sticky: %v", fi.Mode())
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
