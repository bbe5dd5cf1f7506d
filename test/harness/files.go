package harness

import (
	"os"
	"path/filepath"
	"testing"
)

// WriteFiles writes files (slash paths relative to dir, parents made) with
// mode 0644.
func WriteFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		MkdirAll(t, filepath.Dir(p))
		WriteFile(t, p, data, 0o644)
	}
}

// WriteFile writes data to path with exactly mode (the umask undone).
func WriteFile(t testing.TB, path, data string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

// MkdirAll makes dir and its parents (0755).
func MkdirAll(t testing.TB, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}
