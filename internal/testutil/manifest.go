package testutil

import (
	"encoding/json"
	"testing"

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// BlobReader is the part of kiln's store the helpers read.
type BlobReader interface {
	ReadBlob(d digest.Digest) ([]byte, error)
}

// ManifestAndConfig reads a stored image manifest and its raw config.
func ManifestAndConfig(t *testing.T, s BlobReader, d digest.Digest) (ocispec.Manifest, []byte) {
	t.Helper()
	raw, err := s.ReadBlob(d)
	if err != nil {
		t.Fatal(err)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	cfg, err := s.ReadBlob(m.Config.Digest)
	if err != nil {
		t.Fatal(err)
	}
	return m, cfg
}
