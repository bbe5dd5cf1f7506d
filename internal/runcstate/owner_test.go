package runcstate

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// An owner file another kiln is still writing (empty, or cut short) keeps
// a young bundle alive: reaping it then removed a running step's bundle
// (seen as "writing …/config.json: no such file or directory" when builds
// and a prune ran at once). Left so for staleAge, it is a crash's.
func TestOwnerBeingWrittenIsAlive(t *testing.T) {
	for _, owner := range []string{"", "123", "123 "} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, OwnerFile), []byte(owner), 0o644); err != nil {
			t.Fatal(err)
		}
		if !OwnerAlive(dir) {
			t.Errorf("a young bundle with owner %q is taken for a dead one's", owner)
		}
		old := time.Now().Add(-2 * staleAge)
		if err := os.Chtimes(dir, old, old); err != nil {
			t.Fatal(err)
		}
		if OwnerAlive(dir) {
			t.Errorf("a bundle left with owner %q for %v is alive", owner, 2*staleAge)
		}
	}
}

// WriteOwner leaves only the owner file, complete.
func TestWriteOwnerIsWhole(t *testing.T) {
	dir := t.TempDir()
	if err := WriteOwner(dir); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != OwnerFile {
		t.Fatalf("bundle holds %v, want only %s", entries, OwnerFile)
	}
	if old := time.Now().Add(-2 * staleAge); os.Chtimes(dir, old, old) != nil || !OwnerAlive(dir) {
		t.Error("an old bundle of this live process is not alive")
	}
}
