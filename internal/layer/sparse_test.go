package layer

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestUnpackRejectsGNUSparse: an old-GNU sparse entry (what `tar -S` makes)
// is refused, as BuildKit refuses it, instead of expanding its holes.
func TestUnpackRejectsGNUSparse(t *testing.T) {
	if _, err := exec.LookPath("tar"); err != nil {
		t.Skip("needs GNU tar (Debian package tar)")
	}
	dir := t.TempDir()
	big := filepath.Join(dir, "src", "sparse")
	if err := os.MkdirAll(filepath.Dir(big), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("end"), 1<<30); err != nil { // 1 GiB, nearly all hole
		t.Fatal(err)
	}
	f.Close()
	out, err := exec.Command("tar", "--format=gnu", "-S", "-C", filepath.Dir(big), "-cf", "-", "sparse").Output()
	if err != nil {
		t.Fatalf("tar -S: %v", err)
	}
	if len(out) > 1<<20 {
		t.Fatalf("tar -S wrote %d bytes: not a sparse archive", len(out))
	}
	dst := filepath.Join(dir, "dst")
	_, err = UnpackArchive(context.Background(), bytes.NewReader(out), dst)
	if err == nil || !strings.Contains(err.Error(), "GNU sparse file") || !strings.Contains(err.Error(), "sparse") {
		t.Fatalf("UnpackArchive of a GNU sparse tar: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(dst, "sparse")); err == nil {
		t.Fatalf("the sparse file was written (%d bytes)", fi.Size())
	}
}
