package attest

import (
	"encoding/json"
	"fmt"

	digest "github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-build/kiln/internal/store"
)

// The annotations and types of BuildKit's attestation manifests.
const (
	ArtifactType        = "application/vnd.docker.attestation.manifest.v1+json"
	AnnotationRefType   = "vnd.docker.reference.type"
	AnnotationRefDigest = "vnd.docker.reference.digest"
	RefTypeAttestation  = "attestation-manifest"
)

// UnknownPlatform is an attestation manifest's platform in the index, so
// that no runtime picks it as an image.
var UnknownPlatform = ocispec.Platform{OS: "unknown", Architecture: "unknown"}

// AttachOptions say how attestation manifests are made.
type AttachOptions struct {
	// Names are the image's names; statements without subjects get one
	// per name (ImageSubjects).
	Names []string
	// Legacy is oci-artifact=false: a config of platform unknown/unknown
	// listing the statements as diff ids, no artifactType, no subject.
	Legacy bool
}

// Attach writes one attestation manifest per platform manifest that has
// statements (keyed by the manifest's digest) and returns the index's
// manifest list: the platform manifests in their order, then the
// attestation manifests in the same order, as BuildKit places them.
func Attach(s *store.Store, manifests []ocispec.Descriptor, stmts map[digest.Digest][]Statement, o AttachOptions) ([]ocispec.Descriptor, error) {
	out := append([]ocispec.Descriptor(nil), manifests...)
	for _, m := range manifests {
		st := stmts[m.Digest]
		if len(st) == 0 {
			continue
		}
		if m.Platform == nil {
			return nil, fmt.Errorf("attaching attestations to %s: the manifest has no platform", m.Digest)
		}
		layers := make([][]byte, len(st))
		for i, stmt := range st {
			if stmt.Subject == nil {
				subjects, err := ImageSubjects(o.Names, m.Digest, *m.Platform)
				if err != nil {
					return nil, err
				}
				stmt.Subject = subjects
			}
			data, err := stmt.ImageBytes()
			if err != nil {
				return nil, err
			}
			layers[i] = data
		}
		desc, err := CommitManifest(s, m, layers, o.Legacy)
		if err != nil {
			return nil, err
		}
		out = append(out, desc)
	}
	return out, nil
}

// CommitManifest stores an attestation manifest about subject whose layers
// are the encoded statements, and returns its descriptor for the index.
// The manifest's bytes are BuildKit's (indented JSON), so the same
// statements about the same image give BuildKit's digest.
func CommitManifest(s *store.Store, subject ocispec.Descriptor, statements [][]byte, legacy bool) (ocispec.Descriptor, error) {
	m := ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    ocispec.DescriptorEmptyJSON,
	}
	for _, data := range statements {
		var head struct {
			PredicateType string `json:"predicateType"`
		}
		if err := json.Unmarshal(data, &head); err != nil || head.PredicateType == "" {
			return ocispec.Descriptor{}, fmt.Errorf("attestation layer is not an in-toto statement: %v", err)
		}
		d, err := s.PutBlob(data)
		if err != nil {
			return ocispec.Descriptor{}, fmt.Errorf("storing attestation: %w", err)
		}
		m.Layers = append(m.Layers, ocispec.Descriptor{
			MediaType:   MediaTypeInToto,
			Digest:      d,
			Size:        int64(len(data)),
			Annotations: map[string]string{AnnotationPredType: head.PredicateType},
		})
	}
	cfg := m.Config.Data
	if legacy {
		var err error
		if m.Config, cfg, err = legacyConfig(m.Layers); err != nil {
			return ocispec.Descriptor{}, err
		}
	} else {
		m.ArtifactType = ArtifactType
		m.Subject = &ocispec.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size}
	}
	if _, err := s.PutBlob(cfg); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("storing attestation config: %w", err)
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("encoding attestation manifest: %w", err)
	}
	d, err := s.PutBlob(data)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("storing attestation manifest: %w", err)
	}
	p := UnknownPlatform
	return ocispec.Descriptor{
		MediaType:   ocispec.MediaTypeImageManifest,
		Digest:      d,
		Size:        int64(len(data)),
		Annotations: map[string]string{AnnotationRefType: RefTypeAttestation, AnnotationRefDigest: subject.Digest.String()},
		Platform:    &p,
	}, nil
}

// legacyConfig is the image config BuildKit gives an attestation manifest
// that is not an OCI artifact.
func legacyConfig(layers []ocispec.Descriptor) (ocispec.Descriptor, []byte, error) {
	img := ocispec.Image{Platform: UnknownPlatform, RootFS: ocispec.RootFS{Type: "layers"}}
	for _, l := range layers {
		img.RootFS.DiffIDs = append(img.RootFS.DiffIDs, l.Digest)
	}
	data, err := json.Marshal(img)
	if err != nil {
		return ocispec.Descriptor{}, nil, fmt.Errorf("encoding attestation config: %w", err)
	}
	return ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: digest.FromBytes(data), Size: int64(len(data))}, data, nil
}

// IsAttestation reports whether an index entry is an attestation manifest.
func IsAttestation(d ocispec.Descriptor) bool {
	return d.Annotations[AnnotationRefType] == RefTypeAttestation
}

// Statements reads the statements of an attestation manifest.
func Statements(s *store.Store, manifest ocispec.Descriptor) ([]Statement, error) {
	data, err := s.ReadBlob(manifest.Digest)
	if err != nil {
		return nil, fmt.Errorf("reading attestation manifest: %w", err)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("decoding attestation manifest %s: %w", manifest.Digest, err)
	}
	var out []Statement
	for _, l := range m.Layers {
		data, err := s.ReadBlob(l.Digest)
		if err != nil {
			return nil, fmt.Errorf("reading attestation %s: %w", l.Digest, err)
		}
		var st Statement
		if err := json.Unmarshal(data, &st); err != nil {
			return nil, fmt.Errorf("decoding attestation %s: %w", l.Digest, err)
		}
		out = append(out, st)
	}
	return out, nil
}
