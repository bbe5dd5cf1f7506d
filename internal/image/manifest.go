package image

import (
	"encoding/json"
	"fmt"

	"github.com/containerd/platforms"
	digest "github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-build/kiln/internal/store"
)

// Commit writes the image's config and manifest into the store and returns
// the manifest's descriptor (with the image's platform).
func Commit(s *store.Store, img *Image) (ocispec.Descriptor, error) {
	cfg, err := json.Marshal(img.Config)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("encoding image config: %w", err)
	}
	cfgDigest, err := s.PutBlob(cfg)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("storing image config: %w", err)
	}
	m := ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Config: ocispec.Descriptor{
			MediaType: ocispec.MediaTypeImageConfig,
			Digest:    cfgDigest,
			Size:      int64(len(cfg)),
		},
		Layers:      []ocispec.Descriptor{},
		Annotations: img.Annotations,
	}
	for _, l := range img.Layers {
		m.Layers = append(m.Layers, ocispec.Descriptor{MediaType: ociLayerType(l.MediaType), Digest: l.Digest, Size: l.Size})
	}
	data, err := json.Marshal(m)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("encoding manifest: %w", err)
	}
	md, err := s.PutBlob(data)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("storing manifest: %w", err)
	}
	p := img.Config.Platform
	return ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: md, Size: int64(len(data)), Platform: &p}, nil
}

// dockerToOCILayer maps Docker's layer media types to OCI's: a base layer
// copied unchanged goes into an OCI manifest with the OCI type, as BuildKit
// converts it (umoci and buildah refuse Docker types in an OCI manifest).
var dockerToOCILayer = map[string]string{
	"application/vnd.docker.image.rootfs.diff.tar.gzip": ocispec.MediaTypeImageLayerGzip,
	"application/vnd.docker.image.rootfs.diff.tar":      ocispec.MediaTypeImageLayer,
	"application/vnd.docker.image.rootfs.diff.tar.zstd": ocispec.MediaTypeImageLayerZstd,
}

func ociLayerType(mt string) string {
	if oci, ok := dockerToOCILayer[mt]; ok {
		return oci
	}
	return mt
}

// CommitIndex writes an image index over several platform manifests.
func CommitIndex(s *store.Store, manifests []ocispec.Descriptor) (ocispec.Descriptor, error) {
	return CommitAnnotatedIndex(s, manifests, nil)
}

// CommitAnnotatedIndex is CommitIndex with the index's own annotations.
func CommitAnnotatedIndex(s *store.Store, manifests []ocispec.Descriptor, annotations map[string]string) (ocispec.Descriptor, error) {
	idx := ocispec.Index{
		Versioned:   specs.Versioned{SchemaVersion: 2},
		MediaType:   ocispec.MediaTypeImageIndex,
		Manifests:   manifests,
		Annotations: annotations,
	}
	data, err := json.Marshal(idx)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("encoding index: %w", err)
	}
	d, err := s.PutBlob(data)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("storing index: %w", err)
	}
	return ocispec.Descriptor{MediaType: ocispec.MediaTypeImageIndex, Digest: d, Size: int64(len(data))}, nil
}

// Load reads an image from the store. An index is resolved to the manifest
// for the platform. It returns the manifest digest too, the identity a cache
// key uses for a base image.
func Load(s *store.Store, desc ocispec.Descriptor, p ocispec.Platform) (*Image, digest.Digest, error) {
	if isIndex(desc.MediaType) {
		var err error
		if desc, err = pickPlatform(s, desc, p); err != nil {
			return nil, "", err
		}
	}
	data, err := s.ReadBlob(desc.Digest)
	if err != nil {
		return nil, "", fmt.Errorf("reading manifest: %w", err)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, "", fmt.Errorf("decoding manifest %s: %w", desc.Digest, err)
	}
	cfg, err := s.ReadBlob(m.Config.Digest)
	if err != nil {
		return nil, "", fmt.Errorf("reading image config: %w", err)
	}
	img := &Image{}
	if err := json.Unmarshal(cfg, &img.Config); err != nil {
		return nil, "", fmt.Errorf("decoding image config %s: %w", m.Config.Digest, err)
	}
	if len(m.Layers) != len(img.Config.RootFS.DiffIDs) {
		return nil, "", fmt.Errorf("image %s: manifest lists %d layers, config %d", desc.Digest, len(m.Layers), len(img.Config.RootFS.DiffIDs))
	}
	for i, l := range m.Layers {
		img.Layers = append(img.Layers, Layer{Digest: l.Digest, DiffID: img.Config.RootFS.DiffIDs[i], Size: l.Size, MediaType: l.MediaType})
	}
	return img, desc.Digest, nil
}

func isIndex(mt string) bool {
	return mt == ocispec.MediaTypeImageIndex || mt == "application/vnd.docker.distribution.manifest.list.v2+json"
}

func pickPlatform(s *store.Store, desc ocispec.Descriptor, p ocispec.Platform) (ocispec.Descriptor, error) {
	data, err := s.ReadBlob(desc.Digest)
	if err != nil {
		return desc, fmt.Errorf("reading index: %w", err)
	}
	var idx ocispec.Index
	if err := json.Unmarshal(data, &idx); err != nil {
		return desc, fmt.Errorf("decoding index %s: %w", desc.Digest, err)
	}
	match := platforms.Only(p)
	for _, m := range idx.Manifests {
		if m.Platform != nil && match.Match(*m.Platform) {
			return m, nil
		}
	}
	return desc, fmt.Errorf("image has no manifest for platform %s", platforms.Format(p))
}

// HasPlatform reports whether the store holds desc's manifest for p: an
// ordinary pull of a multi-arch image stores the index and the host's
// manifest only, so a build for another platform must fetch its own.
func HasPlatform(s *store.Store, desc ocispec.Descriptor, p ocispec.Platform) bool {
	if !isIndex(desc.MediaType) {
		return s.HasBlob(desc.Digest)
	}
	m, err := pickPlatform(s, desc, p)
	return err == nil && s.HasBlob(m.Digest)
}
