package registry

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-build/kiln/internal/store"
)

// FetchManifest stores the manifest ref names (straight from its registry,
// no mirrors, no platform choice, no blobs) and returns its descriptor: how
// a remote build cache is read before any layer is needed.
func (c *Client) FetchManifest(ctx context.Context, s *store.Store, ref string) (ocispec.Descriptor, error) {
	src, puller, err := c.direct(ctx, ref)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	desc, err := fetchManifest(ctx, s, puller, src, src.ref.Identifier())
	if err != nil {
		return ocispec.Descriptor{}, classify("pulling", ref, err)
	}
	return desc, nil
}

// FetchBlob downloads one blob of ref's repository into the store (verified).
func (c *Client) FetchBlob(ctx context.Context, s *store.Store, ref string, d ocispec.Descriptor) error {
	if s.HasBlob(d.Digest) {
		return nil
	}
	src, puller, err := c.direct(ctx, ref)
	if err != nil {
		return err
	}
	return classify("pulling", ref, fetchBlob(ctx, s, puller, src, d, counterFor(ctx, d.Size)))
}

func (c *Client) direct(ctx context.Context, ref string) (source, *remote.Puller, error) {
	r, err := c.parse(ref)
	if err != nil {
		return source{}, nil, err
	}
	opts, err := c.options(ctx, r.Context().RegistryStr())
	if err != nil {
		return source{}, nil, fmt.Errorf("pulling %s: %w", ref, err)
	}
	puller, err := remote.NewPuller(opts...)
	if err != nil {
		return source{}, nil, err
	}
	return source{ref: r, opts: opts}, puller, nil
}
