package image

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-build/kiln/internal/store"
)

// verifyStore is a store with a tagged image whose layer is unpacked, a
// cache record whose layer is unpacked, and the other small files kept in
// cache/: verify finds nothing wrong with it.
func verifyStore(t *testing.T) (*store.Store, *Image) {
	t.Helper()
	s, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	img, desc := sampleImage(t, s, "amd64")
	if err := s.Tag("app", desc); err != nil {
		t.Fatal(err)
	}
	mkdir(t, s.LayerDir(img.Layers[0].DiffID))
	cached := putRecord(t, s, "step", "cached layer")
	mkdir(t, s.LayerDir(cached.DiffID))
	if err := s.PutCache(digest.FromString("empty step"), []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteMeta("src-x", []byte("not json")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.StatCachePath("/ctx"), []byte("\x00binary"), 0o600); err != nil {
		t.Fatal(err)
	}
	return s, img
}

func mkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
}

// putRecord stores a layer blob and a step-cache record for key naming it.
func putRecord(t *testing.T, s *store.Store, key, content string) Layer {
	t.Helper()
	d, err := s.PutBlob([]byte(content))
	if err != nil {
		t.Fatal(err)
	}
	l := Layer{Digest: d, DiffID: digest.FromString("diff " + content), Size: int64(len(content)), MediaType: ocispec.MediaTypeImageLayerGzip}
	writeRecord(t, s, key, cacheRecord{Layer: &l})
	return l
}

func writeRecord(t *testing.T, s *store.Store, key string, rec any) {
	t.Helper()
	data, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutCache(digest.FromString(key), data); err != nil {
		t.Fatal(err)
	}
}

func verify(t *testing.T, s *store.Store) (errs, warns []string) {
	t.Helper()
	problems, err := Verify(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if p.Warning {
			warns = append(warns, p.Text)
		} else {
			errs = append(errs, p.Text)
		}
	}
	return errs, warns
}

// tree lists every path of the store with its mode, size and mtime, to show that
// verify changes nothing.
func tree(t *testing.T, root string) string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		lines = append(lines, fmt.Sprint(rel, " ", fi.Mode(), " ", fi.Size(), " ", fi.ModTime().UnixNano()))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func TestVerifyCleanStore(t *testing.T) {
	s, _ := verifyStore(t)
	if errs, warns := verify(t, s); len(errs)+len(warns) > 0 {
		t.Fatalf("a sound store: errors %q, warnings %q", errs, warns)
	}
}

func TestVerifyCorruptStore(t *testing.T) {
	s, img := verifyStore(t)

	// A record whose blob is gone: a warning, lookups treat it as a miss.
	gone := putRecord(t, s, "gone", "pruned by hand")
	if err := os.Remove(s.BlobPath(gone.Digest)); err != nil {
		t.Fatal(err)
	}
	// A record that does not decode, and one naming no valid digest: errors.
	if err := s.PutCache(digest.FromString("garbage"), []byte("\x1f\x8b not json")); err != nil {
		t.Fatal(err)
	}
	writeRecord(t, s, "bad digest", map[string]any{"layer": map[string]any{"digest": "sha256:xyz", "diffID": "sha256:xyz"}})
	// A record whose blob has another size than recorded: an error.
	wrongSize := putRecord(t, s, "size", "sized layer")
	writeRecord(t, s, "size", cacheRecord{Layer: &Layer{Digest: wrongSize.Digest, DiffID: wrongSize.DiffID, Size: 3}})
	// An unpacked layer nothing names: a warning.
	orphan := filepath.Join(s.Root(), "l", "0123456789abcdef")
	mkdir(t, orphan)
	// A blob whose bytes changed, used by a record and by the image: errors.
	changed := putRecord(t, s, "changed", "original bytes")
	if err := os.WriteFile(s.BlobPath(changed.Digest), []byte("other bytes"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.BlobPath(img.Layers[0].Digest), []byte("flipped"), 0o600); err != nil {
		t.Fatal(err)
	}

	before := tree(t, s.Root())
	errs, warns := verify(t, s)
	if after := tree(t, s.Root()); after != before {
		t.Errorf("verify changed the store:\nbefore:\n%s\nafter:\n%s", before, after)
	}

	enc := func(key string) string { return digest.FromString(key).Encoded() }
	wantErrs := []string{
		"blob " + changed.Digest.String() + ": content does not match its digest",
		"blob " + img.Layers[0].Digest.String() + ": content does not match its digest",
		"cache record " + enc("garbage") + ": cannot be decoded",
		"cache record " + enc("bad digest") + ": names an invalid layer digest",
		"cache record " + enc("size") + ": layer blob " + wrongSize.Digest.String() + " has 11 bytes, the record says 3",
		"cache record " + enc("changed") + ": layer blob " + changed.Digest.String() + " does not match its digest",
	}
	wantWarns := []string{
		"cache record " + enc("gone") + ": layer blob " + gone.Digest.String() + " is missing",
		"layer directory l/0123456789abcdef: no image config or cache record names its diff ID",
	}
	check := func(kind string, got, want []string) {
		t.Helper()
		if len(got) != len(want) {
			t.Errorf("%s: got %d, want %d:\n%s", kind, len(got), len(want), strings.Join(got, "\n"))
		}
		for _, w := range want {
			found := false
			for _, g := range got {
				found = found || strings.HasPrefix(g, w)
			}
			if !found {
				t.Errorf("%s lack %q:\n%s", kind, w, strings.Join(got, "\n"))
			}
		}
	}
	check("errors", errs, wantErrs)
	check("warnings", warns, wantWarns)

	// Nothing was removed: not the orphan, not the records.
	if _, err := os.Stat(orphan); err != nil {
		t.Errorf("the orphan layer directory: %v", err)
	}
	if data, _ := s.GetCache(digest.FromString("garbage")); data == nil {
		t.Error("the garbage record was removed")
	}
}

// A missing image blob is an error, the orphan warning is not raised for
// the layer its config names.
func TestVerifyImageMissingBlob(t *testing.T) {
	s, img := verifyStore(t)
	if err := os.Remove(s.BlobPath(img.Layers[0].Digest)); err != nil {
		t.Fatal(err)
	}
	errs, warns := verify(t, s)
	if len(errs) != 1 || !strings.Contains(errs[0], "image app:latest: blob "+img.Layers[0].Digest.String()+" is missing") || len(warns) != 0 {
		t.Fatalf("errors %q, warnings %q", errs, warns)
	}
}
