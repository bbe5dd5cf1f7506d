package registry

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-build/kiln/internal/image"
)

// blobLedger makes the in-memory registry, which keeps one blob pool for all
// repositories, behave like a real one: a repository holds only the blobs
// uploaded or mounted into it, and a mount from a repository that holds the
// blob succeeds. It counts finished uploads and mounts per digest.
type blobLedger struct {
	mu      sync.Mutex
	held    map[string]bool // repo + " " + digest
	uploads map[string]int
	mounts  map[string]int
}

func newBlobLedger() *blobLedger {
	return &blobLedger{held: map[string]bool{}, uploads: map[string]int{}, mounts: map[string]int{}}
}

func (b *blobLedger) count(m map[string]int, d string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return m[d]
}

// note records that repo now holds d, counting it in m.
func (b *blobLedger) note(m map[string]int, repo, d string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.held[repo+" "+d] = true
	m[d]++
}

func (b *blobLedger) holds(repo, d string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.held[repo+" "+d]
}

// statusWriter keeps the status the registry answered with.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (b *blobLedger) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := strings.Index(r.URL.Path, "/blobs/")
		if !strings.HasPrefix(r.URL.Path, "/v2/") || i < 0 {
			next.ServeHTTP(w, r)
			return
		}
		repo, rest, q := r.URL.Path[len("/v2/"):i], r.URL.Path[i+len("/blobs/"):], r.URL.Query()
		switch {
		case r.Method == http.MethodPost && q.Get("mount") != "":
			d := q.Get("mount")
			if b.holds(q.Get("from"), d) {
				b.note(b.mounts, repo, d)
				w.Header().Set("Location", "/v2/"+repo+"/blobs/"+d)
				w.Header().Set("Docker-Content-Digest", d)
				w.WriteHeader(http.StatusCreated)
				return
			}
			// Not mountable: the registry starts a plain upload.
		case r.Method == http.MethodPut && strings.HasPrefix(rest, "uploads/"):
			sw := &statusWriter{ResponseWriter: w}
			next.ServeHTTP(sw, r)
			if sw.status == http.StatusCreated {
				b.note(b.uploads, repo, q.Get("digest"))
			}
			return
		case !strings.HasPrefix(rest, "uploads/") && !b.holds(repo, rest):
			w.WriteHeader(http.StatusNotFound)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// TestPushIndexMountsAcrossRepos: an index pushed to repository a, then to
// b of the same registry, sends each layer once; b mounts a's layers.
func TestPushIndexMountsAcrossRepos(t *testing.T) {
	ledger := newBlobLedger()
	reg := newTestRegistry(t, ledger.wrap)
	s := newStore(t)
	arm64 := ocispec.Platform{OS: "linux", Architecture: "arm64"}
	manifests := []ocispec.Descriptor{commitImage(t, s, linuxAmd64, 2), commitImage(t, s, arm64, 3)}
	idx := commitIndex(t, s, manifests...)
	c := New(nil)

	for _, repo := range []string{"/kiln/a:1", "/kiln/b:1"} {
		if err := c.Push(context.Background(), s, idx, reg.host+repo); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range manifests {
		img, _, err := image.Load(s, m, *m.Platform)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range img.Layers {
			d := l.Digest.String()
			if n := ledger.count(ledger.uploads, d); n != 1 {
				t.Errorf("layer %s uploaded %d times, want once", d, n)
			}
			if n := ledger.count(ledger.mounts, d); n != 1 {
				t.Errorf("layer %s mounted %d times, want once (into kiln/b)", d, n)
			}
		}
	}

	r, _ := parseRef(t, reg.host+"/kiln/b:1")
	got, err := remote.Index(r)
	if err != nil {
		t.Fatal(err)
	}
	if d := mustDigest(t, got); d.String() != idx.Digest.String() {
		t.Errorf("kiln/b has index %s, want %s", d, idx.Digest)
	}
	// The mounted layers are really in kiln/b: pulling from it reads them.
	if _, err := New(nil).Pull(context.Background(), newStore(t), reg.host+"/kiln/b:1", arm64); err != nil {
		t.Errorf("pulling back from kiln/b: %v", err)
	}
}

// Layers pulled from one repository are mounted, not uploaded, when an
// image holding them is pushed to another repository of that registry (an
// app pushed to me/app on a base pulled from library/base).
func TestPushMountsLayersPulledFromAnotherRepo(t *testing.T) {
	ledger := newBlobLedger()
	reg := newTestRegistry(t, ledger.wrap)
	publisher := newStore(t)
	base := commitImage(t, publisher, linuxAmd64, 2)
	if err := New(nil).Push(context.Background(), publisher, base, reg.host+"/library/base:1"); err != nil {
		t.Fatal(err)
	}
	builder := newStore(t)
	pulled, err := New(nil).Pull(context.Background(), builder, reg.host+"/library/base:1", linuxAmd64)
	if err != nil {
		t.Fatal(err)
	}
	if err := New(nil).Push(context.Background(), builder, pulled, reg.host+"/me/app:1"); err != nil {
		t.Fatal(err)
	}
	img, _, err := image.Load(builder, pulled, linuxAmd64)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range img.Layers {
		d := l.Digest.String()
		if up, mounted := ledger.count(ledger.uploads, d), ledger.count(ledger.mounts, d); up != 1 || mounted != 1 {
			t.Errorf("layer %s: uploaded %d times, mounted %d; want 1 upload (library/base) and 1 mount (me/app)", d, up, mounted)
		}
	}
}
