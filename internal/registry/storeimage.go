package registry

import (
	"bytes"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-build/kiln/internal/store"
)

// storeImage is a go-containerregistry image whose manifest, config and
// layers are blobs in kiln's store.
type storeImage struct {
	s    *store.Store
	desc v1.Descriptor
	raw  []byte
}

var _ partial.CompressedImageCore = (*storeImage)(nil)

// imageFromStore reads the manifest now; blobs are opened when read.
func imageFromStore(s *store.Store, desc v1.Descriptor) (v1.Image, error) {
	raw, err := readVerified(s, desc.Digest)
	if err != nil {
		return nil, fmt.Errorf("reading manifest: %w", err)
	}
	return partial.CompressedToImage(&storeImage{s: s, desc: desc, raw: raw})
}

func (si *storeImage) MediaType() (types.MediaType, error) { return si.desc.MediaType, nil }

func (si *storeImage) RawManifest() ([]byte, error) { return si.raw, nil }

func (si *storeImage) RawConfigFile() ([]byte, error) {
	m, err := v1.ParseManifest(bytes.NewReader(si.raw))
	if err != nil {
		return nil, fmt.Errorf("decoding manifest %s: %w", si.desc.Digest, err)
	}
	return readVerified(si.s, m.Config.Digest)
}

func (si *storeImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	m, err := v1.ParseManifest(bytes.NewReader(si.raw))
	if err != nil {
		return nil, fmt.Errorf("decoding manifest %s: %w", si.desc.Digest, err)
	}
	if h == m.Config.Digest {
		return &storeBlob{s: si.s, desc: m.Config}, nil
	}
	for _, l := range m.Layers {
		if l.Digest == h {
			return &storeBlob{s: si.s, desc: l}, nil
		}
	}
	return nil, fmt.Errorf("layer %s is not in image %s", h, si.desc.Digest)
}

// storeBlob is one layer (or config) blob in the store.
type storeBlob struct {
	s    *store.Store
	desc v1.Descriptor
}

func (b *storeBlob) Digest() (v1.Hash, error)            { return b.desc.Digest, nil }
func (b *storeBlob) Size() (int64, error)                { return b.desc.Size, nil }
func (b *storeBlob) MediaType() (types.MediaType, error) { return b.desc.MediaType, nil }
func (b *storeBlob) Descriptor() (*v1.Descriptor, error) { return &b.desc, nil }
func (b *storeBlob) Compressed() (io.ReadCloser, error)  { return b.s.OpenBlob(toDigest(b.desc.Digest)) }
func (b *storeBlob) Exists() (bool, error)               { return b.s.HasBlob(toDigest(b.desc.Digest)), nil }

// storeIndex is a go-containerregistry image index held in kiln's store.
type storeIndex struct {
	s    *store.Store
	desc v1.Descriptor
	raw  []byte
}

var _ v1.ImageIndex = (*storeIndex)(nil)

func indexFromStore(s *store.Store, desc v1.Descriptor) (v1.ImageIndex, error) {
	raw, err := readVerified(s, desc.Digest)
	if err != nil {
		return nil, fmt.Errorf("reading index: %w", err)
	}
	return &storeIndex{s: s, desc: desc, raw: raw}, nil
}

func (si *storeIndex) MediaType() (types.MediaType, error) { return si.desc.MediaType, nil }
func (si *storeIndex) Digest() (v1.Hash, error)            { return si.desc.Digest, nil }
func (si *storeIndex) Size() (int64, error)                { return int64(len(si.raw)), nil }
func (si *storeIndex) RawManifest() ([]byte, error)        { return si.raw, nil }

func (si *storeIndex) IndexManifest() (*v1.IndexManifest, error) {
	return v1.ParseIndexManifest(bytes.NewReader(si.raw))
}

func (si *storeIndex) child(h v1.Hash) (v1.Descriptor, error) {
	im, err := si.IndexManifest()
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("decoding index %s: %w", si.desc.Digest, err)
	}
	for _, d := range im.Manifests {
		if d.Digest == h {
			if !si.s.HasBlob(toDigest(h)) {
				return d, fmt.Errorf("manifest %s of index %s is not in the store (was the image pulled for one platform only?)", h, si.desc.Digest)
			}
			return d, nil
		}
	}
	return v1.Descriptor{}, fmt.Errorf("manifest %s is not in index %s", h, si.desc.Digest)
}

func (si *storeIndex) Image(h v1.Hash) (v1.Image, error) {
	d, err := si.child(h)
	if err != nil {
		return nil, err
	}
	return imageFromStore(si.s, d)
}

func (si *storeIndex) ImageIndex(h v1.Hash) (v1.ImageIndex, error) {
	d, err := si.child(h)
	if err != nil {
		return nil, err
	}
	return indexFromStore(si.s, d)
}

// readVerified reads a small blob and checks it still has its digest.
func readVerified(s *store.Store, h v1.Hash) ([]byte, error) {
	d := toDigest(h)
	data, err := s.ReadBlob(d)
	if err != nil {
		return nil, err
	}
	if got := digest.FromBytes(data); got != d {
		return nil, fmt.Errorf("blob %s in the store is corrupt (its content has digest %s)", d, got)
	}
	return data, nil
}

func toDigest(h v1.Hash) digest.Digest { return digest.Digest(h.String()) }

// toV1 converts an OCI descriptor to go-containerregistry's form.
func toV1(d ocispec.Descriptor) (v1.Descriptor, error) {
	h, err := v1.NewHash(d.Digest.String())
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("parsing digest %q: %w", d.Digest, err)
	}
	return v1.Descriptor{MediaType: types.MediaType(d.MediaType), Digest: h, Size: d.Size}, nil
}
