package image

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-build/kiln/internal/store"
)

// dockerManifest is one entry of `docker save`'s manifest.json.
type dockerManifest struct {
	Config   string
	RepoTags []string
	Layers   []string
}

// WriteDockerTar writes a single-platform image in the format `docker load`
// reads: an OCI layout with docker's manifest.json beside it, as
// `docker save` writes since Docker 25.
func WriteDockerTar(w io.Writer, s *store.Store, img Named, tags []string, epoch time.Time) error {
	if img.Descriptor.MediaType != ocispec.MediaTypeImageManifest {
		return fmt.Errorf("type=docker holds one platform; this build made an index (use type=oci)")
	}
	data, err := s.ReadBlob(img.Descriptor.Digest)
	if err != nil {
		return err
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return fmt.Errorf("decoding manifest: %w", err)
	}
	dm := dockerManifest{Config: "blobs/sha256/" + m.Config.Digest.Encoded(), RepoTags: tags}
	for _, l := range m.Layers {
		dm.Layers = append(dm.Layers, "blobs/sha256/"+l.Digest.Encoded())
	}
	mj, err := json.Marshal([]dockerManifest{dm})
	if err != nil {
		return err
	}
	return writeLayoutTar(w, s, []Named{img}, epoch, map[string][]byte{"manifest.json": mj})
}

func sortedKeys(m map[string][]byte) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
