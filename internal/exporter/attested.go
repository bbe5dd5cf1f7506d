package exporter

import (
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Form is how one output carries the result's attestations.
type Form struct {
	Type   string   // the output's type: image, registry, oci, docker, local, tar
	Names  []string // the image's names in this output (attestation subjects)
	Legacy bool     // oci-artifact=false
}

// Attested gives each output its own form of the result, as BuildKit's
// exporters each decide what they carry (attest.Attestations.PlanFor).
type Attested interface {
	// Desc is the manifest or index an image output carries: the bare
	// result, or an index with the attestation manifests its type gets.
	Desc(f Form) (ocispec.Descriptor, error)
	// Files are the statement files a filesystem output writes at its root
	// (provenance.json, …) about files, the output's regular files by path;
	// platform indexes Result.Images. None when the output gets none.
	Files(f Form, platform int, files func() (map[string]digest.Digest, error)) (map[string][]byte, error)
	// Dropped reports whether an output that cannot carry attestations
	// (docker, --load) was asked for some: the exporter warns.
	Dropped(f Form) bool
}

// descFor is the descriptor an image output of this form exports.
func (r Result) descFor(f Form) (ocispec.Descriptor, error) {
	if r.Attest == nil {
		return r.Desc, nil
	}
	return r.Attest.Desc(f)
}

// attestFiles are the statement files for a filesystem output.
func (r Result) attestFiles(f Form, platform int, files func() (map[string]digest.Digest, error)) (map[string][]byte, error) {
	if r.Attest == nil {
		return nil, nil
	}
	return r.Attest.Files(f, platform, files)
}

// warnDropped says when an output leaves out attestations it was asked for.
func (r Result) warnDropped(s Session, f Form) {
	if r.Attest != nil && r.Attest.Dropped(f) {
		s.Progress.Warn("output type=%s carries no attestations (not supported yet): use type=oci, type=image or --push for them", f.Type)
	}
}
