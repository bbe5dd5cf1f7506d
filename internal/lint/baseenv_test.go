package lint

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/containerd/platforms"

	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/store"
)

// StoreEnv reads a stored image's env for the platform, and knows nothing
// of names the store lacks or of a store that does not exist (which it
// does not create).
func TestStoreEnv(t *testing.T) {
	root := t.TempDir()
	s, err := store.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	host := platforms.Normalize(platforms.DefaultSpec())
	img := image.New(host)
	img.SetEnv("FOO", "1")
	desc, err := image.Commit(s, img)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Tag("example.com/base:1", desc); err != nil {
		t.Fatal(err)
	}
	env := StoreEnv(root)
	if got, ok := env("example.com/base:1", host); !ok || !slices.Contains(got, "FOO=1") {
		t.Errorf("stored image: %q, %v", got, ok)
	}
	for _, ref := range []string{"example.com/base:2", "oci-layout:///x", "Not A Name"} {
		if got, ok := env(ref, host); ok {
			t.Errorf("%s: %q, want unknown", ref, got)
		}
	}

	missing := filepath.Join(t.TempDir(), "none")
	if _, ok := StoreEnv(missing)("example.com/base:1", host); ok {
		t.Error("a store that does not exist knows an image")
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("the missing store was created: %v", err)
	}

	ctx := env.WithContexts(map[string]string{"base": "docker-image://example.com/base:1", "dir": "/src", "layout": "oci-layout:///l"})
	for ref, want := range map[string]bool{"BASE": true, "dir": true, "layout": false, "example.com/base:1": true} {
		if _, ok := ctx(ref, host); ok != want {
			t.Errorf("with contexts, %s known: %v, want %v", ref, ok, want)
		}
	}
}
