package registry

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-build/kiln/internal/store"
)

// Push uploads the image (manifest or index) desc names in the store to the
// registry reference remoteName. Only blobs the registry lacks are uploaded,
// several at a time; an index brings all its platform manifests along.
func (c *Client) Push(ctx context.Context, s *store.Store, desc ocispec.Descriptor, remoteName string) error {
	ref, err := c.parse(remoteName)
	if err != nil {
		return err
	}
	opts, err := c.options(ctx, ref.Context().RegistryStr())
	if err != nil {
		return fmt.Errorf("pushing %s: %w", remoteName, err)
	}
	vd, err := toV1(desc)
	if err != nil {
		return fmt.Errorf("pushing %s: %w", remoteName, err)
	}
	if isIndex(desc.MediaType) {
		idx, err := indexFromStore(s, vd)
		if err != nil {
			return fmt.Errorf("pushing %s: %w", remoteName, err)
		}
		return classify("pushing", remoteName, remote.WriteIndex(ref, idx, opts...))
	}
	img, err := imageFromStore(s, vd)
	if err != nil {
		return fmt.Errorf("pushing %s: %w", remoteName, err)
	}
	repo := ref.Context()
	mi := &mountingImage{Image: img, sources: loadSources(s, repo.RegistryStr()), target: repo}
	if err := remote.Write(ref, mi, opts...); err != nil {
		return classify("pushing", remoteName, err)
	}
	recordSources(s, repo, layerDigests(img))
	return nil
}
