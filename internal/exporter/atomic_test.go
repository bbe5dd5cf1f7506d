package exporter

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// A build killed while exporting leaves its temp file next to the
// destination; the next export to it removes that one and no live build's.
func TestRemoveDeadTemps(t *testing.T) {
	dir := t.TempDir()
	dead := filepath.Join(dir, ".out.tar.tmp-2147483646-123")
	live := filepath.Join(dir, fmt.Sprintf(".out.tar.tmp-%d-456", os.Getpid()))
	other := filepath.Join(dir, ".other.tar.tmp-2147483646-1")
	for _, p := range []string{dead, live, other} {
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	removeDeadTemps(dir, ".out.tar.tmp-")
	for p, want := range map[string]bool{dead: false, live: true, other: true} {
		if _, err := os.Stat(p); (err == nil) != want {
			t.Errorf("%s exists = %v, want %v", filepath.Base(p), err == nil, want)
		}
	}
}
