package exporter

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/remotecache"
	"github.com/kiln-build/kiln/internal/store"
)

// Commit stamps, annotates and commits each platform's image, an index
// over several, and points the tags at the top descriptor; no root needed.
func TestCommit(t *testing.T) {
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	epoch := time.Unix(1700000000, 0).UTC()
	s := Session{Store: st, Epoch: epoch}
	amd, arm := ocispec.Platform{OS: "linux", Architecture: "amd64"}, ocispec.Platform{OS: "linux", Architecture: "arm64"}
	var anns []Annotation
	for _, a := range []string{"manifest[linux/arm64]:only=arm", "index:idx=1", "manifest-descriptor:d=2"} {
		ann, err := ParseAnnotation(a)
		if err != nil {
			t.Fatal(err)
		}
		anns = append(anns, ann)
	}
	r, err := Commit(s, []*image.Image{image.New(amd), image.New(arm)}, CommitOptions{
		Labels: map[string]string{"l": "v"}, Annotations: anns, Tags: []string{"app:1"},
		InlineCache: &InlineCache{},
	})
	if err != nil {
		t.Fatal(err)
	}
	if r.Desc.MediaType != ocispec.MediaTypeImageIndex || len(r.Manifests) != 2 {
		t.Fatalf("top %s with %d manifests: want an index of 2", r.Desc.MediaType, len(r.Manifests))
	}
	for i, m := range r.Manifests {
		if m.Platform == nil || m.Platform.Architecture != r.Images[i].Config.Platform.Architecture {
			t.Errorf("manifest %d has platform %v", i, m.Platform)
		}
		if !inlineCached(t, st, m) {
			t.Errorf("manifest %d has no inline cache", i)
		}
	}
	ref, err := st.Lookup("app:1")
	if err != nil || ref.Descriptor.Digest != r.Desc.Digest {
		t.Fatalf("tag app:1 -> %v (%v), want the index %s", ref.Descriptor.Digest, err, r.Desc.Digest)
	}
	data, err := st.ReadBlob(r.Desc.Digest)
	if err != nil {
		t.Fatal(err)
	}
	var idx ocispec.Index
	if err := json.Unmarshal(data, &idx); err != nil {
		t.Fatal(err)
	}
	if idx.Annotations["idx"] != "1" || len(idx.Manifests) != 2 || idx.Manifests[0].Annotations["d"] != "2" {
		t.Errorf("index %+v", idx)
	}
	for i, img := range r.Images {
		if img.Config.Created == nil || !img.Config.Created.Equal(epoch) || img.Config.Config.Labels["l"] != "v" {
			t.Errorf("image %d not stamped: %+v", i, img.Config)
		}
		if got := img.Annotations["only"]; (i == 1) != (got == "arm") {
			t.Errorf("image %d manifest annotations %v", i, img.Annotations)
		}
	}
	_, err = Commit(s, []*image.Image{image.New(amd)}, CommitOptions{Annotations: anns})
	if err == nil || !strings.Contains(err.Error(), "index annotations need a multi-platform build") {
		t.Errorf("single platform with index annotations: %v", err)
	}
}

// inlineCached reports whether a committed manifest's config carries the
// inline cache.
func inlineCached(t *testing.T, st *store.Store, desc ocispec.Descriptor) bool {
	t.Helper()
	var m ocispec.Manifest
	var cfg map[string]json.RawMessage
	raw, err := st.ReadBlob(desc.Digest)
	if err == nil {
		err = json.Unmarshal(raw, &m)
	}
	if err == nil {
		raw, err = st.ReadBlob(m.Config.Digest)
	}
	if err == nil {
		err = json.Unmarshal(raw, &cfg)
	}
	if err != nil {
		t.Fatal(err)
	}
	_, ok := cfg[remotecache.InlineKey]
	return ok
}
