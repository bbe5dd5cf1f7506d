package session

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-build/kiln/internal/store"
)

// Exported cache mounts are bounded: past cache-mounts-max-size the export
// fails, naming the limit and the mount, before anything is packed.
func TestPackMountLimit(t *testing.T) {
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "big"), make([]byte, 4096), 0o644); err != nil {
		t.Fatal(err)
	}
	var total int64
	_, err = packOne(context.Background(), st, "/root/.npm", dir, 1000, &total, "type=local")
	if err == nil || !strings.Contains(err.Error(), "over cache-mounts-max-size=1000") || !strings.Contains(err.Error(), "/root/.npm: 4096") {
		t.Fatalf("err = %v, want the limit named", err)
	}
	blobs, _ := st.Blobs()
	if len(blobs) != 0 {
		t.Errorf("a refused export stored %d blobs", len(blobs))
	}
	total = 0
	m, err := packOne(context.Background(), st, "/root/.npm", dir, 1<<20, &total, "type=local")
	if err != nil || m.ID != "/root/.npm" || !st.HasBlob(m.Layer.Digest) || total != 4096 {
		t.Errorf("within the limit: %+v, total %d, %v", m, total, err)
	}
}
