package exporter

import (
	"fmt"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/testhook"
)

// CommitOptions say how a build's images are stamped, annotated and named.
type CommitOptions struct {
	Labels      map[string]string // --label
	Annotations []Annotation      // --annotation and the outputs' annotation.* attributes
	Tags        []string          // -t
	// Inline, if set, gives a committed manifest its inline cache
	// (--cache-to type=inline) and returns the new descriptor.
	Inline func(desc ocispec.Descriptor) (ocispec.Descriptor, error)
	// Attest, if set, makes the result's attested forms from the platform
	// manifests (each with its platform) and the bare result; the -t names
	// then point at its StoreForm.
	Attest    func(manifests []ocispec.Descriptor, bare ocispec.Descriptor) (Attested, error)
	StoreForm Form
}

// Commit assembles the result: each platform's config stamped with the
// epoch and labels, its manifest annotated and committed to the store,
// an index over them for several platforms, and the -t names pointing at
// the top descriptor.
func Commit(s Session, images []*image.Image, o CommitOptions) (Result, error) {
	if ann := AnnotationsFor(o.Annotations, "index", nil); ann != nil && len(images) == 1 {
		return Result{}, fmt.Errorf("index annotations need a multi-platform build (a single platform makes no index)")
	}
	r := Result{Images: images, Tags: o.Tags}
	var manifests []ocispec.Descriptor
	for _, img := range images {
		stamp(img, s, o.Labels)
		p := img.Config.Platform
		img.Annotations = AnnotationsFor(o.Annotations, "manifest", &p)
		desc, err := image.Commit(s.Store, img)
		if err != nil {
			return Result{}, err
		}
		if o.Inline != nil {
			if desc, err = o.Inline(desc); err != nil {
				return Result{}, err
			}
		}
		desc.Annotations = AnnotationsFor(o.Annotations, "manifest-descriptor", &p)
		manifests = append(manifests, desc)
	}
	testhook.Point(testhook.Export) // the image is stored, not yet tagged
	r.Desc = manifests[0]
	if len(images) > 1 {
		idx, err := image.CommitAnnotatedIndex(s.Store, manifests, AnnotationsFor(o.Annotations, "index", nil))
		if err != nil {
			return Result{}, err
		}
		r.Desc = idx
	}
	r.Named = r.Desc
	if o.Attest != nil {
		withPlatforms := make([]ocispec.Descriptor, len(manifests))
		for i, m := range manifests {
			p := images[i].Config.Platform
			m.Platform = &p
			withPlatforms[i] = m
		}
		var err error
		if r.Attest, err = o.Attest(withPlatforms, r.Desc); err != nil {
			return Result{}, err
		}
		if r.Named, err = r.Attest.Desc(o.StoreForm); err != nil {
			return Result{}, err
		}
	}
	for _, t := range o.Tags {
		if err := s.Store.Tag(t, r.Named); err != nil {
			return Result{}, fmt.Errorf("tagging %s: %w", t, err)
		}
	}
	testhook.Point(testhook.Export)
	return r, nil
}

// stamp sets the config's creation time to the epoch and adds the labels.
func stamp(img *image.Image, s Session, labels map[string]string) {
	created := s.Epoch
	img.Config.Created = &created
	if len(labels) == 0 {
		return
	}
	if img.Config.Config.Labels == nil {
		img.Config.Config.Labels = map[string]string{}
	}
	for k, v := range labels {
		img.Config.Config.Labels[k] = v
	}
}
