package registry

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/store"
)

// commitImage builds an image of n random layers in the store, as a build would.
func commitImage(t *testing.T, s *store.Store, p ocispec.Platform, n int) ocispec.Descriptor {
	t.Helper()
	img := image.New(p)
	for i := 0; i < n; i++ {
		l, err := random.Layer(4096, types.OCILayer)
		if err != nil {
			t.Fatal(err)
		}
		rc, err := l.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		d, err := s.PutBlob(data)
		if err != nil {
			t.Fatal(err)
		}
		diffID := digest.Digest(mustDiffID(t, l).String())
		img.AddLayer(&image.Layer{Digest: d, DiffID: diffID, Size: int64(len(data)), MediaType: ocispec.MediaTypeImageLayerGzip},
			"RUN step", time.Unix(0, 0).UTC())
	}
	desc, err := image.Commit(s, img)
	if err != nil {
		t.Fatal(err)
	}
	return desc
}

func commitIndex(t *testing.T, s *store.Store, manifests ...ocispec.Descriptor) ocispec.Descriptor {
	t.Helper()
	idx, err := image.CommitIndex(s, manifests)
	if err != nil {
		t.Fatal(err)
	}
	return idx
}

func TestPush(t *testing.T) {
	reg := newTestRegistry(t, nil)
	s := newStore(t)
	desc := commitImage(t, s, linuxAmd64, 3)
	ref := reg.host + "/kiln/app:1"
	c := New(nil)

	if err := c.Push(context.Background(), s, desc, ref); err != nil {
		t.Fatal(err)
	}
	if n := reg.count.get("upload"); n == 0 {
		t.Error("no blob uploaded")
	}
	r, _ := parseRef(t, ref)
	got, err := remote.Image(r)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := got.ConfigFile(); err != nil {
		t.Errorf("reading pushed config: %v", err)
	}
	if d := mustDigest(t, got); d.String() != desc.Digest.String() {
		t.Errorf("registry has manifest %s, want %s", d, desc.Digest)
	}
	want, _, err := image.Load(s, desc, linuxAmd64)
	if err != nil {
		t.Fatal(err)
	}
	layers, err := got.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range layers {
		if mustDigest(t, l).String() != want.Layers[i].Digest.String() {
			t.Errorf("layer %d: %s, want %s", i, mustDigest(t, l), want.Layers[i].Digest)
		}
		readAll(t, l) // go-containerregistry verifies the digest while reading
	}

	// Pushing again finds everything there and uploads nothing.
	reg.count.reset()
	if err := c.Push(context.Background(), s, desc, ref); err != nil {
		t.Fatal(err)
	}
	if n := reg.count.get("upload"); n != 0 {
		t.Errorf("second push made %d upload requests", n)
	}
	// Under a new tag the blobs are there already: only the manifest goes up.
	reg.count.reset()
	if err := c.Push(context.Background(), s, desc, reg.host+"/kiln/app:2"); err != nil {
		t.Fatal(err)
	}
	if n := reg.count.get("upload"); n != 0 {
		t.Errorf("push under a new tag made %d upload requests", n)
	}
}

func TestPushIndex(t *testing.T) {
	reg := newTestRegistry(t, nil)
	s := newStore(t)
	arm64 := ocispec.Platform{OS: "linux", Architecture: "arm64"}
	idx := commitIndex(t, s, commitImage(t, s, linuxAmd64, 1), commitImage(t, s, arm64, 2))
	ref := reg.host + "/kiln/multi:1"
	if err := New(nil).Push(context.Background(), s, idx, ref); err != nil {
		t.Fatal(err)
	}
	r, _ := parseRef(t, ref)
	got, err := remote.Index(r)
	if err != nil {
		t.Fatal(err)
	}
	if im, err := got.IndexManifest(); err != nil || len(im.Manifests) != 2 {
		t.Errorf("pushed index: %+v, %v", im, err)
	}
	if d := mustDigest(t, got); d.String() != idx.Digest.String() {
		t.Errorf("registry has index %s, want %s", d, idx.Digest)
	}

	// And it round-trips: pull the arm64 image into a fresh store.
	s2 := newStore(t)
	desc, err := New(nil).Pull(context.Background(), s2, ref, arm64)
	if err != nil {
		t.Fatal(err)
	}
	img, _, err := image.Load(s2, desc, arm64)
	if err != nil || len(img.Layers) != 2 {
		t.Fatalf("loading pulled arm64 image: %v", err)
	}
}

func readAll(t *testing.T, l interface{ Compressed() (io.ReadCloser, error) }) {
	t.Helper()
	rc, err := l.Compressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, err := io.Copy(io.Discard, rc); err != nil {
		t.Errorf("reading pushed blob: %v", err)
	}
}
