package session

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/kiln-build/kiln/internal/progress"
	"github.com/kiln-build/kiln/internal/snapshot"
	"github.com/kiln-build/kiln/internal/store"
)

// Targets of one bake with the same context read it once: the same loaded
// context for the same Dockerfile, one stat cache for the directory
// whatever the Dockerfile, one staged view per ignore file.
func TestSharedLoadsEachContextOnce(t *testing.T) {
	dir := t.TempDir()
	for name, data := range map[string]string{
		"Dockerfile": "FROM scratch\n", "Dockerfile.other": "FROM scratch\n",
		"Dockerfile.other.dockerignore": "*.log\n", "a.txt": "a",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rep, _ := progress.New(&bytes.Buffer{}, "plain")
	s := NewShared(rep)
	defer s.Close()
	a1, err := s.loadContext(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	a2, _ := s.loadContext(dir+"/.", "")
	other, err := s.loadContext(dir, filepath.Join(dir, "Dockerfile.other"))
	if err != nil {
		t.Fatal(err)
	}
	if a1 != a2 {
		t.Error("the same context and Dockerfile were loaded twice")
	}
	if a1 == other {
		t.Error("another Dockerfile (with its own ignore file) got the first one's context")
	}
	snap := snapshot.NewOverlay(st, nil)
	v1, v2, v3 := s.attach(st, snap, a1), s.attach(st, snap, a2), s.attach(st, snap, other)
	if a1.Cache != other.Cache {
		t.Error("two Dockerfiles of one context directory hash with different stat caches")
	}
	if len(s.views) != 2 || v1 == nil || v2 == nil || v3 == nil {
		t.Errorf("%d staged views, want 2 (one per ignore file)", len(s.views))
	}
}
