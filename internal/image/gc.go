package image

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"

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

// Verify checks that every blob matches its digest and that every named
// image has all its blobs. It returns one line per problem.
func Verify(s *store.Store) ([]string, error) {
	var problems []string
	blobs, err := s.Blobs()
	if err != nil {
		return nil, err
	}
	for _, d := range blobs {
		if got, err := hashBlob(s, d); err != nil || got != d {
			problems = append(problems, fmt.Sprintf("blob %s: content does not match its digest", d))
		}
	}
	refs, err := s.Refs()
	if err != nil {
		return nil, err
	}
	for _, r := range refs {
		if _, err := reachable(s, []Named{{Descriptor: r.Descriptor}}); err != nil {
			problems = append(problems, fmt.Sprintf("image %s: %v", store.FamiliarName(r.Name), err))
			continue
		}
		blobs, _ := reachable(s, []Named{{Descriptor: r.Descriptor}})
		for _, b := range blobs {
			if !s.HasBlob(b) {
				problems = append(problems, fmt.Sprintf("image %s: blob %s is missing", store.FamiliarName(r.Name), b))
			}
		}
	}
	return problems, nil
}

func hashBlob(s *store.Store, d digest.Digest) (digest.Digest, error) {
	f, err := s.OpenBlob(d)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return digest.NewDigestFromEncoded(digest.SHA256, hex.EncodeToString(h.Sum(nil))), nil
}
