// Package attest makes the supply-chain attestations BuildKit attaches to an
// image: SLSA provenance, SBOM statements from a scanner, the attestation
// manifests that carry them in an image index, and buildx's rules for when a
// build gets which. It is pure apart from layout.go, which writes to the
// store; the session and the exporters call it.
package attest

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/util/purl"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/package-url/packageurl-go"
)

// In-toto and the predicate types BuildKit writes.
const (
	StatementType      = "https://in-toto.io/Statement/v1"
	PredicateSLSA1     = "https://slsa.dev/provenance/v1"
	PredicateSLSA02    = "https://slsa.dev/provenance/v0.2"
	PredicateSPDX      = "https://spdx.dev/Document"
	MediaTypeInToto    = "application/vnd.in-toto+json"
	AnnotationPredType = "in-toto.io/predicate-type"
)

// Statement is an in-toto v1 statement, field for field as BuildKit marshals
// in-toto-golang's Statement. kiln keeps its own copy: that package's root
// drags in signing and key handling that kiln never uses.
type Statement struct {
	Type          string          `json:"_type"`
	PredicateType string          `json:"predicateType"`
	Subject       []Subject       `json:"subject"`
	Predicate     json.RawMessage `json:"predicate"`
}

// Subject names what a statement is about, by digest.
type Subject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// NewStatement wraps an encoded predicate. Its subjects are filled in when it
// is attached (ImageSubjects, FileSubjects), as BuildKit's exporters do.
func NewStatement(predicateType string, predicate []byte) Statement {
	return Statement{Type: StatementType, PredicateType: predicateType, Predicate: predicate}
}

// ImageBytes is the statement as a layer of an attestation manifest: compact
// JSON, as BuildKit's image writer stores it.
func (s Statement) ImageBytes() ([]byte, error) {
	s.Subject = nonNil(s.Subject)
	data, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("encoding %s statement: %w", s.PredicateType, err)
	}
	return data, nil
}

// FileBytes is the statement as a file of a local or tar output
// (provenance.json, sbom.spdx.json): indented, as BuildKit's local exporter
// writes it.
func (s Statement) FileBytes() ([]byte, error) {
	s.Subject = nonNil(s.Subject)
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding %s statement: %w", s.PredicateType, err)
	}
	return data, nil
}

func nonNil(s []Subject) []Subject {
	if s == nil {
		return []Subject{}
	}
	return s
}

// ImageSubjects are the subjects of an image's statements: one package URL
// per image name (pkg:docker/name@tag?platform=…), each with the platform
// manifest's digest. No names, no subjects: BuildKit writes "subject": [] for
// an unnamed OCI export.
func ImageSubjects(names []string, manifest digest.Digest, p ocispec.Platform) ([]Subject, error) {
	out := []Subject{}
	for _, name := range names {
		if name == "" {
			continue
		}
		u, err := purl.RefToPURL(packageurl.TypeDocker, name, &p)
		if err != nil {
			return nil, fmt.Errorf("naming attestation subject %s: %w", name, err)
		}
		out = append(out, Subject{Name: u, Digest: digestSet(manifest)})
	}
	return out, nil
}

// FileSubjects are the subjects of a filesystem output's statements: every
// regular file, by its path in the output and its sha256.
func FileSubjects(files map[string]digest.Digest) []Subject {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	// BuildKit walks the output directory by directory, names sorted, so
	// "a/b" comes before "a.txt": compare path elements, not strings.
	sort.Slice(names, func(i, j int) bool {
		return slices.Compare(strings.Split(names[i], "/"), strings.Split(names[j], "/")) < 0
	})
	out := make([]Subject, 0, len(names))
	for _, n := range names {
		out = append(out, Subject{Name: n, Digest: digestSet(files[n])})
	}
	return out
}

func digestSet(d digest.Digest) map[string]string {
	return map[string]string{d.Algorithm().String(): d.Encoded()}
}

// formatPlatform is BuildKit's spelling of a platform in provenance.
func formatPlatform(p ocispec.Platform) string {
	return platforms.Format(platforms.Normalize(p))
}
