package exporter

import (
	"fmt"

	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/remotecache"
	"github.com/kiln-build/kiln/internal/testhook"
)

// CommitOptions say how a build's images are stamped, annotated and named.
type CommitOptions struct {
	Labels      map[string]string // --label
	Annotations []Annotation      // --annotation and the outputs' annotation.* attributes
	Tags        []string          // -t
	// InlineCache, if set, is embedded in each committed manifest
	// (--cache-to type=inline): the build's cache records.
	InlineCache *InlineCache
	// StoreForm is the attested form the -t names point at (Name).
	StoreForm Form
}

// InlineCache is what --cache-to type=inline embeds.
type InlineCache struct {
	Entries []remotecache.Entry
}

// Commit stores the result and names it, with no attestations (Store,
// then Name).
func Commit(s Session, images []*image.Image, o CommitOptions) (Result, error) {
	r, err := Store(s, images, o)
	if err != nil {
		return Result{}, err
	}
	return r, Name(s, &r, nil, o)
}

// Store assembles the result: each platform's config stamped with the
// epoch and labels, its manifest annotated (and given the inline cache)
// and committed to the store, an index over them for several platforms.
// Nothing is named yet: attestations over Result.Manifests come first.
func Store(s Session, images []*image.Image, o CommitOptions) (Result, error) {
	if ann := AnnotationsFor(o.Annotations, "index", nil); ann != nil && len(images) == 1 {
		return Result{}, fmt.Errorf("index annotations need a multi-platform build (a single platform makes no index)")
	}
	r := Result{Images: images, Tags: o.Tags}
	for _, img := range images {
		stamp(img, s, o.Labels)
		p := img.Config.Platform
		img.Annotations = AnnotationsFor(o.Annotations, "manifest", &p)
		desc, err := image.Commit(s.Store, img)
		if err != nil {
			return Result{}, err
		}
		if o.InlineCache != nil {
			if desc, err = remotecache.EmbedInline(s.Store, desc, o.InlineCache.Entries); err != nil {
				return Result{}, err
			}
		}
		desc.Annotations = AnnotationsFor(o.Annotations, "manifest-descriptor", &p)
		r.Manifests = append(r.Manifests, desc)
	}
	testhook.Point(testhook.Export) // the image is stored, not yet tagged
	r.Desc = r.Manifests[0]
	if len(images) > 1 {
		idx, err := image.CommitAnnotatedIndex(s.Store, r.Manifests, AnnotationsFor(o.Annotations, "index", nil))
		if err != nil {
			return Result{}, err
		}
		r.Desc = idx
	}
	for i := range r.Manifests {
		p := images[i].Config.Platform
		r.Manifests[i].Platform = &p
	}
	r.Named = r.Desc
	return r, nil
}

// Name gives the stored result its attested forms (nil: none) and points
// the -t names at the form the store keeps (o.StoreForm).
func Name(s Session, r *Result, attested Attested, o CommitOptions) error {
	if attested != nil {
		r.Attest = attested
		var err error
		if r.Named, err = attested.Desc(o.StoreForm); err != nil {
			return err
		}
	}
	for _, t := range r.Tags {
		if err := s.Store.Tag(t, r.Named); err != nil {
			return fmt.Errorf("tagging %s: %w", t, err)
		}
	}
	testhook.Point(testhook.Export)
	return nil
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
