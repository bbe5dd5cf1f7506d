package session

import (
	"context"
	"fmt"
	"os"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-build/kiln/internal/attest"
	"github.com/kiln-build/kiln/internal/exporter"
	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/instr"
	"github.com/kiln-build/kiln/internal/progress"
	"github.com/kiln-build/kiln/internal/registry"
)

// finishing is what finish needs besides the images.
type finishing struct {
	o         Options
	w         *instr.Worker
	client    *registry.Client
	exporters []exporter.Exporter // resolved before the build (exporter.Resolve)
	// provenance describes each platform's build for its provenance.
	provenance func(platform int) attest.Build
	sboms      [][]sbomFile // each platform's SBOM statements, when asked for
}

// finish commits the image (or index) to the store, tags it, writes the
// requested outputs, the metadata and iid files, and the summary.
func finish(ctx context.Context, f finishing, images []*image.Image) (*Result, error) {
	o, w := f.o, f.w
	session := exporter.Session{Store: w.Store, Epoch: w.Epoch, Progress: w.Progress, Snap: w.Snap, Registry: f.client}
	// -t names the result in the store as --load would in docker: buildx's
	// default provenance only on a multi-platform result, an explicit
	// attestation always. With --push the store holds what was pushed, as
	// an image exporter with push=true stores it.
	storeForm := exporter.Form{Type: "docker", Names: o.Tags}
	if o.Push {
		storeForm.Type = "registry"
	}
	co := exporter.CommitOptions{Labels: o.Labels, Annotations: o.Annotations, Tags: o.Tags,
		InlineCache: inlineCache(w, o.CacheTo), StoreForm: storeForm}
	r, err := exporter.Store(session, images, co)
	if err != nil {
		return nil, err
	}
	attested, err := attestResult(f, r.Manifests, r.Desc)
	if err != nil {
		return nil, err
	}
	if err := exporter.Name(session, &r, attested, co); err != nil {
		return nil, err
	}
	if err := exporter.Run(ctx, session, r, f.exporters); err != nil {
		return nil, err
	}
	full, err := r.Attest.Desc(exporter.Form{Type: "image"})
	if err != nil {
		return nil, err
	}
	var meta map[string]any
	if o.MetadataFile != "" || o.Metadata {
		if meta, err = exporter.Metadata(w.Store, r, o.Outputs); err != nil {
			return nil, fmt.Errorf("build result's metadata: %w", err)
		}
	}
	if o.MetadataFile != "" {
		if err := writeMetadata(o.MetadataFile, meta); err != nil {
			return nil, err
		}
	}
	if o.IIDFile != "" {
		if err := os.WriteFile(o.IIDFile, []byte(r.Named.Digest.String()), 0o644); err != nil {
			return nil, fmt.Errorf("writing --iidfile: %w", err)
		}
	}
	summarize(w, r)
	return &Result{Descriptor: r.Named, Bare: r.Desc, Attested: full, Image: images[0], Images: images, Metadata: meta}, nil
}

// attestResult makes each platform's statements and the attested view of
// the result the exporters read.
func attestResult(f finishing, manifests []ocispec.Descriptor, bare ocispec.Descriptor) (*attested, error) {
	a := &attested{store: f.w.Store, want: f.o.Attest, bare: bare, manifests: manifests,
		indexAnn: exporter.AnnotationsFor(f.o.Annotations, "index", nil)}
	if f.o.Attest.SBOM != nil {
		if len(f.sboms) != len(manifests) {
			return nil, fmt.Errorf("SBOM asked for but not generated")
		}
		a.sboms = f.sboms
	}
	if f.o.Attest.Provenance == nil || f.provenance == nil {
		a.want.Provenance = nil
		return a, nil
	}
	for i := range manifests {
		st, err := attest.Provenance(f.provenance(i), *f.o.Attest.Provenance)
		if err != nil && f.o.Attest.Provenance.Default {
			// buildx's implicit provenance must not fail a build that
			// asked for none: say so and leave it out.
			f.w.Progress.Warn("leaving out the default provenance: %v", err)
			a.want.Provenance, a.provenance = nil, nil
			return a, nil
		}
		if err != nil {
			return nil, err
		}
		a.provenance = append(a.provenance, st)
	}
	return a, nil
}

func summarize(w *instr.Worker, r exporter.Result) {
	var size int64
	layers := 0
	for _, img := range r.Images {
		layers += len(img.Layers)
		for _, l := range img.Layers {
			size += l.Size
		}
	}
	name := ""
	if len(r.Tags) > 0 {
		name = r.Tags[0]
	}
	w.Progress.Finish(progress.Summary{Image: name, Digest: r.Named.Digest.String(), Size: size, Layers: layers})
}
