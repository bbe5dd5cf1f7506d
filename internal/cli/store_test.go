package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-build/kiln/internal/store"
)

func runKiln(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	cmd := New()
	cmd.SetArgs(args)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	err := cmd.Execute()
	return out.String(), err
}

// Warnings (an orphan layer directory, a record whose blob is gone) do not
// fail verify; a record that does not decode does.
func TestStoreVerifyWarningsAndErrors(t *testing.T) {
	root := t.TempDir()
	s, err := store.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := runKiln(t, "", "--root", root, "store", "verify"); err != nil || out != "store is consistent\n" {
		t.Fatalf("empty store: %v\n%s", err, out)
	}
	if err := os.MkdirAll(filepath.Join(root, "l", "0123456789abcdef"), 0o755); err != nil {
		t.Fatal(err)
	}
	missing := digest.FromString("gone")
	if err := s.PutCache(digest.FromString("a"), []byte(`{"layer":{"digest":"`+missing.String()+`","diffID":"`+missing.String()+`","size":4}}`)); err != nil {
		t.Fatal(err)
	}
	out, err := runKiln(t, "", "--root", root, "store", "verify")
	if err != nil || !strings.Contains(out, "warning: layer directory l/0123456789abcdef") ||
		!strings.Contains(out, "warning: cache record "+digest.FromString("a").Encoded()+": layer blob "+missing.String()+" is missing") ||
		!strings.HasSuffix(out, "store is consistent (2 warnings)\n") {
		t.Fatalf("warnings only: %v\n%s", err, out)
	}
	if err := s.PutCache(digest.FromString("b"), []byte("garbage")); err != nil {
		t.Fatal(err)
	}
	out, err = runKiln(t, "", "--root", root, "store", "verify")
	if err == nil || err.Error() != "store has 1 problem and 2 warnings" || strings.Contains(out, "consistent") ||
		!strings.Contains(out, "cache record "+digest.FromString("b").Encoded()+": cannot be decoded") {
		t.Fatalf("a garbage record: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(root, "l", "0123456789abcdef")); err != nil {
		t.Fatalf("verify removed the orphan: %v", err)
	}
}

// A mistyped --root is an error, and verify does not create a store there.
func TestStoreVerifyMissingRoot(t *testing.T) {
	root := filepath.Join(t.TempDir(), "typo")
	out, err := runKiln(t, "", "--root", root, "store", "verify")
	if err == nil || !strings.Contains(err.Error(), "no kiln store at "+root) {
		t.Fatalf("want an error naming the missing store, got %v\n%s", err, out)
	}
	if _, err := os.Stat(root); err == nil {
		t.Fatalf("verify created %s", root)
	}
}

// kiln rmi checks every name before it removes one.
func TestRmiChecksAllNamesFirst(t *testing.T) {
	root := t.TempDir()
	s, err := store.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	d, err := s.PutBlob([]byte(`{"schemaVersion":2}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Tag("kiln-rmi:a", ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: d, Size: 19}); err != nil {
		t.Fatal(err)
	}
	if _, err := runKiln(t, "", "--root", root, "rmi", "kiln-rmi:a", "kiln-rmi:typo"); err == nil {
		t.Fatal("rmi of a missing name succeeded")
	}
	if _, err := s.Lookup("kiln-rmi:a"); err != nil {
		t.Fatalf("a failed rmi removed the name it could: %v", err)
	}
	if _, err := runKiln(t, "", "--root", root, "rmi", "kiln-rmi:a"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Lookup("kiln-rmi:a"); err == nil {
		t.Fatal("rmi kept the name")
	}
}
