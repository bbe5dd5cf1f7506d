package instr

import (
	"context"
	"errors"
	"fmt"
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

// Image resolves ref for platform p to its image and the manifest digest
// that names it in cache keys (BuildOptions.Images).
func (r *Resolver) Image(ctx context.Context, ref string, p ocispec.Platform) (*image.Image, digest.Digest, error) {
	img, manifest, _, err := r.Resolve(ctx, ref, p)
	return img, manifest, err
}

// Resolve is Image plus the digest the reference resolved to (an index's
// digest for an index), which provenance records.
func (r *Resolver) Resolve(ctx context.Context, ref string, p ocispec.Platform) (*image.Image, digest.Digest, digest.Digest, error) {
	if strings.HasPrefix(ref, "oci-layout://") {
		img, manifest, err := imports.Layout(r.store, ref, p)
		return img, manifest, manifest, err
	}
	if err := r.ensure(ctx, ref, p); err != nil {
		return nil, "", "", err
	}
	found, err := r.store.Lookup(ref)
	if err != nil {
		return nil, "", "", err
	}
	img, manifest, err := image.Load(r.store, found.Descriptor, p)
	return img, manifest, found.Descriptor.Digest, err
}

// ensure pulls ref when the store lacks it (or always with --pull), once per
// build and platform even when several stages name it.
func (r *Resolver) ensure(ctx context.Context, ref string, p ocispec.Platform) error {
	found, err := r.store.Lookup(ref)
	if err == nil && !r.pull && image.HasPlatform(r.store, found.Descriptor, p) {
		return nil
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	key := ref + "@" + platforms.Format(p)
	r.mu.Lock()
	po := r.pulled[key]
	if po == nil {
		po = &pullOnce{}
		r.pulled[key] = po
	}
	r.mu.Unlock()
	po.once.Do(func() {
		v := r.rep.Start(fmt.Sprintf("[internal] pull %s (%s)", ref, platforms.Format(p)))
		_, po.err = r.client.Pull(registry.WithProgress(ctx, counterOf(v)), r.store, ref, p)
		v.Done(po.err)
	})
	return po.err
}

// counterOf reports a pull's or push's bytes on its vertex.
func counterOf(v *progress.Vertex) func(int64) registry.ByteCounter {
	return func(total int64) registry.ByteCounter { return v.NewCounter(total) }
}
