package registry

import (
	"encoding/json"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-build/kiln/internal/store"
)

// blobSources remembers, per registry, a repository known to hold each
// blob (from earlier pushes and pulls), so a push to another repository of the same
// registry mounts the blob instead of uploading it again.
type blobSources map[string]string // blob digest → repository (registry/path)

var sourcesMu sync.Mutex

func metaName(registry string) string {
	return "blobsrc-" + digest.FromString(registry).Encoded()[:16]
}

func loadSources(s *store.Store, registry string) blobSources {
	src := blobSources{}
	if data, err := s.ReadMeta(metaName(registry)); err == nil && data != nil {
		_ = json.Unmarshal(data, &src)
	}
	return src
}

// recordSources notes that repo holds the blobs (best effort).
func recordSources(s *store.Store, repo name.Repository, blobs []v1.Hash) {
	sourcesMu.Lock()
	defer sourcesMu.Unlock()
	src := loadSources(s, repo.RegistryStr())
	for _, b := range blobs {
		src[b.String()] = repo.Name()
	}
	if data, err := json.Marshal(src); err == nil {
		_ = s.WriteMeta(metaName(repo.RegistryStr()), data)
	}
}

// recordPulled notes the layers of a pulled manifest, so pushing an image
// built on it to another repository of that registry mounts the base
// layers (best effort).
func recordPulled(s *store.Store, repo name.Repository, manifest ocispec.Descriptor) {
	data, err := s.ReadBlob(manifest.Digest)
	if err != nil {
		return
	}
	var m ocispec.Manifest
	if json.Unmarshal(data, &m) != nil {
		return
	}
	var blobs []v1.Hash
	for _, l := range m.Layers {
		if h, err := v1.NewHash(l.Digest.String()); err == nil {
			blobs = append(blobs, h)
		}
	}
	recordSources(s, repo, blobs)
}

// mountingImage offers go-containerregistry the layers another repository
// of the target registry holds as mountable.
type mountingImage struct {
	v1.Image
	sources blobSources
	target  name.Repository
}

func (m *mountingImage) Layers() ([]v1.Layer, error) {
	layers, err := m.Image.Layers()
	if err != nil {
		return nil, err
	}
	for i, l := range layers {
		d, err := l.Digest()
		if err != nil {
			continue
		}
		from, ok := m.sources[d.String()]
		if !ok || from == m.target.Name() {
			continue
		}
		if ref, err := name.ParseReference(from+"@"+d.String(), name.WeakValidation, name.Insecure); err == nil {
			layers[i] = &remote.MountableLayer{Layer: l, Reference: ref}
		}
	}
	return layers, nil
}

// mountingIndex hands out its images, and those of any index in it, as
// mountingImages: an index's layers are then mounted like a single image's,
// both when kiln uploads the blobs and when go-containerregistry walks the
// index to put its manifests.
type mountingIndex struct {
	imageIndex // a field named ImageIndex would clash with the method
	sources    blobSources
	target     name.Repository
}

type imageIndex = v1.ImageIndex

func (m *mountingIndex) Image(h v1.Hash) (v1.Image, error) {
	img, err := m.imageIndex.Image(h)
	if err != nil {
		return nil, err
	}
	return &mountingImage{Image: img, sources: m.sources, target: m.target}, nil
}

func (m *mountingIndex) ImageIndex(h v1.Hash) (v1.ImageIndex, error) {
	idx, err := m.imageIndex.ImageIndex(h)
	if err != nil {
		return nil, err
	}
	return &mountingIndex{imageIndex: idx, sources: m.sources, target: m.target}, nil
}

// blobDigests lists the digests of blobs.
func blobDigests(blobs []v1.Layer) []v1.Hash {
	var out []v1.Hash
	for _, l := range blobs {
		if d, err := l.Digest(); err == nil {
			out = append(out, d)
		}
	}
	return out
}
