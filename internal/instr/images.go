package instr

import (
	"context"
	"errors"
	"strings"
	"sync"

	"github.com/containerd/platforms"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/imports"
	"github.com/kiln-build/kiln/internal/progress"
	"github.com/kiln-build/kiln/internal/registry"
	"github.com/kiln-build/kiln/internal/store"
)

// Resolver finds base images: a name already in the store is used as is
// (so a rebuild needs no network) unless --pull asks to refresh it; anything
// else is pulled once per build.
type Resolver struct {
	store  *store.Store
	client *registry.Client
	rep    *progress.Reporter
	pull   bool
	// MultiPlatform names the platform in the resolution's progress line.
	MultiPlatform bool

	mu     sync.Mutex
	pulled map[string]*pullOnce
}

type pullOnce struct {
	once sync.Once
	err  error
}

// NewResolver returns a build's resolver; pull is --pull.
func NewResolver(st *store.Store, client *registry.Client, rep *progress.Reporter, pull bool) *Resolver {
	return &Resolver{store: st, client: client, rep: rep, pull: pull, pulled: map[string]*pullOnce{}}
}

// Resolved is an external image as a build resolved it for one platform.
type Resolved struct {
	Image    *image.Image
	Manifest digest.Digest // the platform's manifest: it names the image in cache keys
	// Digest is what the reference resolved to (an index's digest for an
	// index): provenance records it, FROM's progress line shows it.
	Digest digest.Digest
}

// Resolve resolves ref for platform p, pulling it when the store lacks it.
func (r *Resolver) Resolve(ctx context.Context, ref string, p ocispec.Platform) (Resolved, error) {
	if strings.HasPrefix(ref, "oci-layout://") {
		img, manifest, err := imports.Layout(r.store, ref, p)
		return Resolved{Image: img, Manifest: manifest, Digest: manifest}, err
	}
	if err := r.ensure(ctx, ref, p); err != nil {
		return Resolved{}, err
	}
	found, err := r.store.Lookup(ref)
	if err != nil {
		return Resolved{}, err
	}
	img, manifest, err := image.Load(r.store, found.Descriptor, p)
	return Resolved{Image: img, Manifest: manifest, Digest: found.Descriptor.Digest}, err
}

// ensure pulls ref when the store lacks it (or always with --pull), once per
// build and platform even when several stages name it. Its progress line is
// BuildKit's resolution of the image's config, shown once per reference and
// platform.
func (r *Resolver) ensure(ctx context.Context, ref string, p ocispec.Platform) error {
	key := ref + "@" + platforms.Format(p)
	r.mu.Lock()
	po := r.pulled[key]
	if po == nil {
		po = &pullOnce{}
		r.pulled[key] = po
	}
	r.mu.Unlock()
	po.once.Do(func() {
		v := r.rep.Start(metadataLine(ref, p, r.MultiPlatform))
		po.err = r.pullIfMissing(ctx, ref, p, v)
		v.Done(po.err)
	})
	return po.err
}

func (r *Resolver) pullIfMissing(ctx context.Context, ref string, p ocispec.Platform, v *progress.Vertex) error {
	found, err := r.store.Lookup(ref)
	if err == nil && !r.pull && image.HasPlatform(r.store, found.Descriptor, p) {
		return nil
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	_, err = r.client.Pull(registry.WithProgress(ctx, counterOf(v)), r.store, ref, p)
	return err
}

// counterOf reports a pull's or push's bytes on its vertex.
func counterOf(v *progress.Vertex) func(int64) registry.ByteCounter {
	return func(total int64) registry.ByteCounter { return v.NewCounter(total) }
}
