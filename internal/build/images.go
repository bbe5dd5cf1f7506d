package build

import (
	"errors"
	"fmt"

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/store"
)

type digestT = digest.Digest

// localImage resolves an image name from the store.
func localImage(s *store.Store, ref string, p ocispec.Platform) (*image.Image, digest.Digest, error) {
	r, err := s.Lookup(ref)
	if errors.Is(err, store.ErrNotFound) {
		return nil, "", fmt.Errorf("image %q is not in the local store (make it with `kiln import` or build it with -t); pulling from registries is not supported yet", ref)
	}
	if err != nil {
		return nil, "", err
	}
	return image.Load(s, r.Descriptor, p)
}
