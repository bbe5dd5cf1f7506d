package session

import (
	"fmt"
	"strings"
	"sync"

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-build/kiln/internal/attest"
	"github.com/kiln-build/kiln/internal/exporter"
	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/store"
)

// attested is the result with its attestations: each output gets the form
// its type carries (attest.Attestations.PlanFor), made once per form.
type attested struct {
	store     *store.Store
	want      attest.Attestations
	manifests []ocispec.Descriptor // one per platform, with its platform
	bare      ocispec.Descriptor   // the result without attestations
	indexAnn  map[string]string
	// provenance holds each platform's statement (subjects unset); nil
	// when no provenance was asked for.
	provenance []attest.Statement
	// sboms holds each platform's SBOM statements; nil when none.
	sboms [][]sbomFile

	mu    sync.Mutex
	forms map[string]ocispec.Descriptor
}

var _ exporter.Attested = (*attested)(nil)

func (a *attested) plan(f exporter.Form) attest.Plan {
	return a.want.PlanFor(f.Type, len(a.manifests) > 1)
}

// Desc is the bare result when the output carries no attestation, else an
// index of the platform manifests followed by their attestation manifests.
func (a *attested) Desc(f exporter.Form) (ocispec.Descriptor, error) {
	p := a.plan(f)
	if p.Provenance != attest.InIndex && p.SBOM != attest.InIndex {
		return a.bare, nil
	}
	key := fmt.Sprintf("%s\x00%t\x00%v", strings.Join(f.Names, ","), f.Legacy, p)
	a.mu.Lock()
	defer a.mu.Unlock()
	if d, ok := a.forms[key]; ok {
		return d, nil
	}
	stmts := map[digest.Digest][]attest.Statement{}
	for i, m := range a.manifests {
		if p.SBOM == attest.InIndex {
			for _, sb := range a.sboms[i] {
				stmts[m.Digest] = append(stmts[m.Digest], sb.Statement)
			}
		}
		if p.Provenance == attest.InIndex {
			stmts[m.Digest] = append(stmts[m.Digest], a.provenance[i])
		}
	}
	list, err := attest.Attach(a.store, a.manifests, stmts, attest.AttachOptions{Names: f.Names, Legacy: f.Legacy})
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	d, err := image.CommitAnnotatedIndex(a.store, list, a.indexAnn)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	if a.forms == nil {
		a.forms = map[string]ocispec.Descriptor{}
	}
	a.forms[key] = d
	return d, nil
}

// Files are the statements a local or tar output writes at its root, their
// subjects the output's files.
func (a *attested) Files(f exporter.Form, platform int, files func() (map[string]digest.Digest, error)) (map[string][]byte, error) {
	p := a.plan(f)
	if p.Provenance != attest.AsFile && p.SBOM != attest.AsFile {
		return nil, nil
	}
	sums, err := files()
	if err != nil {
		return nil, err
	}
	subjects := attest.FileSubjects(sums)
	out := map[string][]byte{}
	add := func(name string, st attest.Statement) error {
		st.Subject = subjects
		data, err := st.FileBytes()
		out[name] = data
		return err
	}
	if p.SBOM == attest.AsFile {
		for _, sb := range a.sboms[platform] {
			if err := add(attest.SBOMFile(sb.Name), sb.Statement); err != nil {
				return nil, err
			}
		}
	}
	if p.Provenance == attest.AsFile {
		if err := add(a.want.Provenance.ProvenanceFile(), a.provenance[platform]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Dropped: docker archives and --load hold one image manifest, so an
// attestation placed in an index is left out of them.
func (a *attested) Dropped(f exporter.Form) bool {
	return a.plan(exporter.Form{Type: "docker"}).Any() && len(a.manifests) == 1
}
