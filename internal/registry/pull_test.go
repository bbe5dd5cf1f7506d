package registry

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-build/kiln/internal/config"
	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/store"
)

var linuxAmd64 = ocispec.Platform{OS: "linux", Architecture: "amd64"}

// assertSameImage checks the store holds want: its config and layers.
func assertSameImage(t *testing.T, s *store.Store, desc ocispec.Descriptor, p ocispec.Platform, want v1.Image) {
	t.Helper()
	got, mdigest, err := image.Load(s, desc, p)
	if err != nil {
		t.Fatalf("loading pulled image: %v", err)
	}
	if wd := mustDigest(t, want); mdigest.String() != wd.String() {
		t.Errorf("manifest digest %s, want %s", mdigest, wd)
	}
	m, err := want.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if !s.HasBlob(digest.Digest(m.Config.Digest.String())) {
		t.Errorf("config blob %s not stored", m.Config.Digest)
	}
	layers, err := want.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Layers) != len(layers) {
		t.Fatalf("got %d layers, want %d", len(got.Layers), len(layers))
	}
	for i, l := range layers {
		d, diffID := mustDigest(t, l), mustDiffID(t, l)
		if got.Layers[i].Digest.String() != d.String() || got.Layers[i].DiffID.String() != diffID.String() {
			t.Errorf("layer %d: got %s/%s, want %s/%s", i, got.Layers[i].Digest, got.Layers[i].DiffID, d, diffID)
		}
		if !s.HasBlob(got.Layers[i].Digest) {
			t.Errorf("layer blob %s not stored", d)
		}
	}
}

func mustDiffID(t *testing.T, l v1.Layer) v1.Hash {
	t.Helper()
	h, err := l.DiffID()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestPullTag(t *testing.T) {
	reg := newTestRegistry(t, nil)
	img := randomImage(t)
	ref := reg.host + "/test/img:v1"
	put(t, ref, img)
	s := newStore(t)
	c := New(nil)

	desc, err := c.Pull(context.Background(), s, ref, linuxAmd64)
	if err != nil {
		t.Fatal(err)
	}
	assertSameImage(t, s, desc, linuxAmd64, img)
	if desc.MediaType != string(types.DockerManifestSchema2) {
		t.Errorf("media type %s", desc.MediaType)
	}
	r, err := s.Lookup(ref)
	if err != nil || r.Descriptor.Digest != desc.Digest {
		t.Errorf("store ref %s: %+v, %v", ref, r, err)
	}

	// A second pull finds every blob in the store and downloads none.
	reg.count.reset()
	if _, err := c.Pull(context.Background(), s, ref, linuxAmd64); err != nil {
		t.Fatal(err)
	}
	if n := reg.count.get("GET blob"); n != 0 {
		t.Errorf("second pull downloaded %d blobs", n)
	}
}

func TestPullDigest(t *testing.T) {
	reg := newTestRegistry(t, nil)
	img := randomImage(t)
	put(t, reg.host+"/test/img:v1", img)
	ref := reg.host + "/test/img@" + mustDigest(t, img).String()
	s := newStore(t)

	desc, err := New(nil).Pull(context.Background(), s, ref, linuxAmd64)
	if err != nil {
		t.Fatal(err)
	}
	assertSameImage(t, s, desc, linuxAmd64, img)
	if _, err := s.Lookup(ref); err != nil {
		t.Errorf("digest ref not recorded: %v", err)
	}
}

// platformIndex makes an index of one random image per platform.
func platformIndex(t *testing.T, ps ...ocispec.Platform) (v1.ImageIndex, []v1.Image) {
	t.Helper()
	var idx v1.ImageIndex = empty.Index
	var imgs []v1.Image
	for _, p := range ps {
		img := randomImage(t)
		imgs = append(imgs, img)
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant}},
		})
	}
	return idx, imgs
}

func TestPullIndexPicksPlatform(t *testing.T) {
	reg := newTestRegistry(t, nil)
	arm64 := ocispec.Platform{OS: "linux", Architecture: "arm64"}
	idx, imgs := platformIndex(t, linuxAmd64, arm64)
	ref := reg.host + "/test/multi:1"
	r, _ := parseRef(t, ref)
	if err := remote.WriteIndex(r, idx); err != nil {
		t.Fatal(err)
	}
	s := newStore(t)

	desc, err := New(nil).Pull(context.Background(), s, ref, arm64)
	if err != nil {
		t.Fatal(err)
	}
	if desc.Digest.String() != mustDigest(t, idx).String() || !isIndex(desc.MediaType) {
		t.Errorf("Pull returned %+v, want the index", desc)
	}
	assertSameImage(t, s, desc, arm64, imgs[1])
	if s.HasBlob(digest.Digest(mustDigest(t, imgs[0]).String())) {
		t.Error("the amd64 manifest was pulled too")
	}

	_, err = New(nil).Pull(context.Background(), newStore(t), ref, ocispec.Platform{OS: "linux", Architecture: "s390x"})
	if err == nil || !strings.Contains(err.Error(), "linux/s390x") || !strings.Contains(err.Error(), ref) {
		t.Errorf("want a no-platform error naming the image, got %v", err)
	}
}

func TestPullMirror(t *testing.T) {
	mirror := newTestRegistry(t, nil)
	img := randomImage(t)
	put(t, mirror.host+"/library/busybox:1", img)
	cfg := &config.Config{Registries: map[string]config.Registry{
		"docker.io": {Mirrors: []string{mirror.host}},
	}}
	s := newStore(t)

	desc, err := New(cfg).Pull(context.Background(), s, "busybox:1", linuxAmd64)
	if err != nil {
		t.Fatal(err)
	}
	assertSameImage(t, s, desc, linuxAmd64, img)
	if mirror.count.get("GET manifest") == 0 {
		t.Error("the mirror served no manifest")
	}
	if r, err := s.Lookup("docker.io/library/busybox:1"); err != nil || r.Descriptor.Digest != desc.Digest {
		t.Errorf("store ref busybox:1: %+v, %v", r, err)
	}
}

func TestPullMirrorFallsBack(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	deadHost := strings.TrimPrefix(dead.URL, "http://")
	dead.Close()
	empty := newTestRegistry(t, nil) // reachable, but lacks the image
	origin := newTestRegistry(t, nil)
	img := randomImage(t)
	put(t, origin.host+"/app/x:2", img)
	cfg := &config.Config{Registries: map[string]config.Registry{
		origin.host: {Mirrors: []string{deadHost, empty.host}},
	}}
	s := newStore(t)

	desc, err := New(cfg).Pull(context.Background(), s, origin.host+"/app/x:2", linuxAmd64)
	if err != nil {
		t.Fatal(err)
	}
	assertSameImage(t, s, desc, linuxAmd64, img)
	if empty.count.get("GET manifest") == 0 {
		t.Error("the second mirror was not tried")
	}
}

func TestPullUnauthorized(t *testing.T) {
	reg := newTestRegistry(t, func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
		})
	})
	ref := reg.host + "/private/img:1"
	_, err := New(nil).Pull(context.Background(), newStore(t), ref, linuxAmd64)
	t.Logf("error: %v", err)
	if !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("want ErrUnauthorized, got %v", err)
	}
	if !strings.Contains(err.Error(), ref) || !strings.Contains(err.Error(), "docker login") {
		t.Errorf("message %q should name the image and docker login", err)
	}
}

func TestPullUnknownTag(t *testing.T) {
	reg := newTestRegistry(t, nil)
	put(t, reg.host+"/test/img:v1", randomImage(t))
	ref := reg.host + "/test/img:nope"
	_, err := New(nil).Pull(context.Background(), newStore(t), ref, linuxAmd64)
	t.Logf("error: %v", err)
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), ref) {
		t.Fatalf("want ErrNotFound naming %s, got %v", ref, err)
	}
}

func TestPullUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	host := strings.TrimPrefix(srv.URL, "http://")
	srv.Close()
	ref := host + "/test/img:v1"
	_, err := New(nil).Pull(context.Background(), newStore(t), ref, linuxAmd64)
	t.Logf("error: %v", err)
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), ref) {
		t.Fatalf("want ErrUnreachable naming %s, got %v", ref, err)
	}
}

func TestPullDigestMismatch(t *testing.T) {
	img := randomImage(t)
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	bad := mustDigest(t, layers[1]).String()
	reg := newTestRegistry(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/blobs/"+bad) {
				next.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			body := rec.Body.Bytes()
			body[len(body)/2] ^= 0xff
			w.Header().Set("Content-Length", rec.Header().Get("Content-Length"))
			w.WriteHeader(rec.Code)
			_, _ = w.Write(body)
		})
	})
	ref := reg.host + "/test/img:v1"
	put(t, ref, img)
	s := newStore(t)

	_, err = New(nil).Pull(context.Background(), s, ref, linuxAmd64)
	t.Logf("error: %v", err)
	if !errors.Is(err, ErrDigestMismatch) || !strings.Contains(err.Error(), ref) || !strings.Contains(err.Error(), bad) {
		t.Fatalf("want a digest mismatch naming %s and %s, got %v", ref, bad, err)
	}
	if s.HasBlob(digest.Digest(bad)) {
		t.Error("the corrupt blob was stored under the expected digest")
	}
	if _, err := s.Lookup(ref); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a failed pull tagged the image: %v", err)
	}
}

// A registry that sends far more than a layer's declared size is cut off
// one byte past it: the pull fails and kiln reads (and stores) no more.
func TestPullStopsAtDeclaredSize(t *testing.T) {
	img := randomImage(t)
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	bad := mustDigest(t, layers[1]).String()
	const flood = 256 << 20
	var sent atomic.Int64
	reg := newTestRegistry(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/blobs/"+bad) {
				next.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			w.WriteHeader(rec.Code) // no Content-Length: the body is the blob, then more
			buf := make([]byte, 64<<10)
			copy(buf, rec.Body.Bytes())
			for sent.Load() < flood {
				n, err := w.Write(buf)
				sent.Add(int64(n))
				if err != nil {
					return
				}
			}
		})
	})
	ref := reg.host + "/test/img:v1"
	put(t, ref, img)
	s := newStore(t)
	_, err = New(nil).Pull(context.Background(), s, ref, linuxAmd64)
	if err == nil || !strings.Contains(err.Error(), bad) {
		t.Fatalf("want an error naming %s, got %v", bad, err)
	}
	if got := sent.Load(); got >= flood {
		t.Fatalf("kiln read the whole %d-byte flood for a %d-byte layer", got, mustSize(t, layers[1]))
	}
	t.Logf("the registry got %d bytes of a %d-byte flood out before the pull failed: %v", sent.Load(), flood, err)
	if s.HasBlob(digest.Digest(bad)) {
		t.Error("the flooded blob was stored")
	}
}

func mustSize(t *testing.T, l interface{ Size() (int64, error) }) int64 {
	t.Helper()
	n, err := l.Size()
	if err != nil {
		t.Fatal(err)
	}
	return n
}
