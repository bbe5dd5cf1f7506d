package image

import (
	"encoding/json"
	"fmt"

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-build/kiln/internal/store"
)

// presentOnly prepares images for export. An ordinary pull of a multi-arch
// image stores its index and only the host's manifest; an export of that
// index holds the platforms that are present, under a new index of just
// those (its bytes in extra), so the layout written is complete. Other
// images are returned as they are.
func presentOnly(s *store.Store, images []Named) (out []Named, extra map[digest.Digest][]byte, replaced map[digest.Digest]bool, err error) {
	extra, replaced = map[digest.Digest][]byte{}, map[digest.Digest]bool{}
	for _, n := range images {
		if !isIndex(n.Descriptor.MediaType) {
			out = append(out, n)
			continue
		}
		data, err := s.ReadBlob(n.Descriptor.Digest)
		if err != nil {
			return nil, nil, nil, err
		}
		var idx map[string]json.RawMessage
		var list struct {
			Manifests []ocispec.Descriptor `json:"manifests"`
		}
		if err := json.Unmarshal(data, &idx); err != nil {
			return nil, nil, nil, fmt.Errorf("decoding index %s: %w", n.Descriptor.Digest, err)
		}
		if err := json.Unmarshal(data, &list); err != nil {
			return nil, nil, nil, fmt.Errorf("decoding index %s: %w", n.Descriptor.Digest, err)
		}
		var present []ocispec.Descriptor
		for _, m := range list.Manifests {
			if s.HasBlob(m.Digest) {
				present = append(present, m)
			}
		}
		if len(present) == len(list.Manifests) {
			out = append(out, n)
			continue
		}
		if len(present) == 0 {
			return nil, nil, nil, fmt.Errorf("image %s: none of the %d platforms of its index is in the store", displayName(n), len(list.Manifests))
		}
		// Keep every other field of the index (mediaType, annotations).
		if idx["manifests"], err = json.Marshal(present); err != nil {
			return nil, nil, nil, err
		}
		raw, err := json.Marshal(idx)
		if err != nil {
			return nil, nil, nil, err
		}
		d := n.Descriptor
		d.Digest, d.Size = digest.FromBytes(raw), int64(len(raw))
		extra[d.Digest] = raw
		replaced[n.Descriptor.Digest] = true
		out = append(out, Named{Name: n.Name, Descriptor: d})
	}
	return out, extra, replaced, nil
}

func displayName(n Named) string {
	if n.Name != "" {
		return n.Name
	}
	return n.Descriptor.Digest.String()
}

// exportBlobs lists the blobs an export of images writes, and the images as
// they are named in its index.json (see presentOnly).
func exportBlobs(s *store.Store, images []Named) ([]Named, []digest.Digest, map[digest.Digest][]byte, error) {
	named, extra, replaced, err := presentOnly(s, images)
	if err != nil {
		return nil, nil, nil, err
	}
	all, err := reachable(s, images) // skips the absent manifests
	if err != nil {
		return nil, nil, nil, err
	}
	var blobs []digest.Digest
	for _, d := range all {
		if !replaced[d] {
			blobs = append(blobs, d)
		}
	}
	for d := range extra {
		blobs = append(blobs, d)
	}
	return named, blobs, extra, nil
}
