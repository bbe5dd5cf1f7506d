package store

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func open(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestBlobsAreContentAddressed(t *testing.T) {
	s := open(t)
	d, err := s.PutBlob([]byte("hello"))
	if err != nil || d != digest.FromString("hello") {
		t.Fatalf("PutBlob = %s, %v", d, err)
	}
	d2, n, err := s.WriteBlob(func(w io.Writer) error { _, err := io.WriteString(w, "streamed"); return err })
	if err != nil || d2 != digest.FromString("streamed") || n != 8 {
		t.Fatalf("WriteBlob = %s %d %v", d2, n, err)
	}
	if got, _ := s.ReadBlob(d2); string(got) != "streamed" {
		t.Fatalf("ReadBlob = %q", got)
	}
	// A failed write leaves nothing under any name.
	_, _, err = s.WriteBlob(func(w io.Writer) error { io.WriteString(w, "half"); return io.ErrUnexpectedEOF })
	if err == nil || s.HasBlob(digest.FromString("half")) {
		t.Fatal("a failed write was stored")
	}
	if entries, _ := os.ReadDir(filepath.Join(s.Root(), "tmp")); len(entries) != 0 {
		t.Fatalf("temporary files left: %v", entries)
	}
}

func TestRefsNormalizeNames(t *testing.T) {
	s := open(t)
	desc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString("m"), Size: 1}
	if err := s.Tag("app", desc); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"app", "app:latest", "docker.io/library/app:latest", "index.docker.io/library/app"} {
		r, err := s.Lookup(n)
		if err != nil || r.Descriptor.Digest != desc.Digest {
			t.Fatalf("Lookup(%s) = %v, %v", n, r, err)
		}
	}
	if FamiliarName("index.docker.io/library/app:latest") != "app:latest" || FullName("index.docker.io/library/app:1") != "docker.io/library/app:1" {
		t.Fatal("name forms are wrong")
	}
	if err := s.Untag("app"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Lookup("app"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("after Untag: %v", err)
	}
}

// Leftovers of a dead process are removed when the store is opened.
func TestOpenCleansDeadProcessesLeftovers(t *testing.T) {
	root := t.TempDir()
	s, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	dead := filepath.Join(root, "tmp", "999999999-step-1")
	live, err := s.TempDir("step")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dead, "upper"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(root); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Fatal("a dead process's temporary directory survived")
	}
	if _, err := os.Stat(live); err != nil {
		t.Fatal("this process's temporary directory was removed")
	}
}

func TestPruneKeepsWhatImagesAndCacheNeed(t *testing.T) {
	s := open(t)
	kept, _ := s.PutBlob([]byte("image blob"))
	cached, _ := s.PutBlob([]byte("cached layer"))
	garbage, _ := s.PutBlob([]byte("garbage"))
	rec := `{"layer":{"digest":"` + cached.String() + `","diffID":"` + cached.String() + `"}}`
	if err := s.PutCache(digest.FromString("k"), []byte(rec)); err != nil {
		t.Fatal(err)
	}
	reach := func() (map[digest.Digest]bool, error) { return map[digest.Digest]bool{kept: true}, nil }
	if _, err := s.Prune(PruneOptions{Until: 1 << 62}, reach); err != nil {
		t.Fatal(err)
	}
	if !s.HasBlob(kept) || !s.HasBlob(cached) || s.HasBlob(garbage) {
		t.Fatal("prune (keeping recent cache) removed the wrong blobs")
	}
	if _, err := s.Prune(PruneOptions{}, reach); err != nil {
		t.Fatal(err)
	}
	if !s.HasBlob(kept) || s.HasBlob(cached) {
		t.Fatal("prune (all cache) kept a cache-only blob or dropped an image blob")
	}
}
