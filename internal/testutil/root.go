package testutil

import (
	"os"
	"os/exec"
	"testing"
)

// RequireRoot skips the test unless it runs as root with runc and busybox
// installed, naming the Debian package that is missing.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	if _, err := exec.LookPath("runc"); err != nil {
		t.Skip("needs runc: install the runc package (apt-get install runc)")
	}
	if _, err := os.Stat(BusyboxPath); err != nil {
		t.Skip("needs " + BusyboxPath + ": install the busybox-static package (apt-get install busybox-static)")
	}
}
