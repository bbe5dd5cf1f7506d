package image

import (
	"encoding/json"

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-build/kiln/internal/store"
)

// Reachable lists every blob the store's named images need, and the
// DiffIDs of their layers (which name unpacked layer directories).
func Reachable(s *store.Store) (map[digest.Digest]bool, error) {
	refs, err := s.Refs()
	if err != nil {
		return nil, err
	}
	var named []Named
	for _, r := range refs {
		named = append(named, Named{Descriptor: r.Descriptor})
	}
	blobs, err := reachable(s, named)
	if err != nil {
		return nil, err
	}
	keep := map[digest.Digest]bool{}
	for _, b := range blobs {
		keep[b] = true
		addDiffIDs(s, b, keep)
	}
	return keep, nil
}

// addDiffIDs adds the DiffIDs of d if it is an image config.
func addDiffIDs(s *store.Store, d digest.Digest, keep map[digest.Digest]bool) {
	data, err := s.ReadBlob(d)
	if err != nil || len(data) > 1<<20 {
		return
	}
	var cfg ocispec.Image
	if json.Unmarshal(data, &cfg) == nil {
		for _, id := range cfg.RootFS.DiffIDs {
			keep[id] = true
		}
	}
}
