package integration

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// On a terminal, --progress auto is the live view: a redrawn frame with one
// line per step and the running step's last output lines, then a final
// frame and the summary. script(1) gives kiln a pseudo-terminal.
func TestTTYProgress(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("script"); err != nil {
		t.Skip("needs script(1) from util-linux for a pseudo-terminal")
	}
	requireSuite(t)
	ctxDir := t.TempDir()
	writeFiles(t, ctxDir, map[string]string{
		"Dockerfile": "FROM busybox:test\nRUN for i in 1 2 3 4; do echo tty-line-$i; sleep 0.3; done\n",
	})
	cmd := strings.Join([]string{kilnBin(t), "--root", suiteRoot(t), "build", "--no-cache", ctxDir}, " ")
	out, err := exec.Command("script", "-qec", cmd, filepath.Join(t.TempDir(), "typescript")).CombinedOutput()
	if err != nil {
		t.Fatalf("kiln under a pty: %v\n%s", err, out)
	}
	s := string(out)
	for _, want := range []string{"[+] Building", "FINISHED", "\x1b[", " => => # tty-line-", "] RUN for i in"} {
		if !strings.Contains(s, want) {
			t.Fatalf("tty output lacks %q:\n%q", want, s)
		}
	}
	if strings.Contains(s, "#2 0.") {
		t.Fatalf("tty output has plain-mode lines:\n%s", s)
	}
}
