package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strings"

	"github.com/containerd/platforms"
	"github.com/google/go-containerregistry/pkg/name"
	digest "github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"
)

// IndexSource is one source of `kiln imagetools create`, as buildx reads
// them: a reference in a registry, and what a digest or descriptor source
// says of the manifest (its digest, and media type, size, platform or
// annotations, which override the registry's).
type IndexSource struct {
	Ref  string // repo:tag or repo@digest; with Desc.Digest set, its repository
	Desc ocispec.Descriptor
}

// CombineOptions are what `imagetools create` stitches and how.
type CombineOptions struct {
	Sources               []IndexSource
	IndexAnnotations      map[string]string
	DescriptorAnnotations []DescriptorAnnotation
	// PreferIndex makes an index of a single image manifest (buildx's
	// --prefer-index, default true); without it the manifest is copied.
	PreferIndex bool
}

// DescriptorAnnotation is an annotation of the index's entries
// (manifest-descriptor:), for one platform's or every entry.
type DescriptorAnnotation struct {
	Platform   *ocispec.Platform
	Key, Value string
}

// Combined is what `imagetools create` puts at its tags: an index (or, for
// one source, that source's own manifest) and the manifests it names, each
// with the repository it is in now.
type Combined struct {
	Raw       []byte
	Desc      ocispec.Descriptor
	Manifests []Placed
}

// Placed is a manifest and the repository that holds it.
type Placed struct {
	Desc ocispec.Descriptor
	Repo name.Repository
}

// resolved is a source as the registry has it.
type resolved struct {
	desc ocispec.Descriptor
	raw  []byte
	repo name.Repository
}

// Combine resolves the sources (manifests and the configs of manifests
// whose platform is not known; never a layer) and makes the index, as
// buildx imagetools create: an index's entries are taken over, entries of
// the same digest merged, the index is a Docker manifest list when every
// entry is a Docker manifest and an OCI index otherwise. One source that is
// an index, with no annotations, is taken as it is.
func (c *Client) Combine(ctx context.Context, o CombineOptions) (*Combined, error) {
	srcs := make([]resolved, len(o.Sources))
	g, gctx := errgroup.WithContext(ctx)
	for i, src := range o.Sources {
		g.Go(func() (err error) {
			srcs[i], err = c.resolveSource(gctx, src)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	annotated := len(o.IndexAnnotations) > 0 || len(o.DescriptorAnnotations) > 0
	if len(srcs) == 1 && !annotated {
		if s := srcs[0]; isIndex(s.desc.MediaType) {
			return asIs(s)
		} else if !o.PreferIndex {
			return &Combined{Raw: s.raw, Desc: s.desc, Manifests: []Placed{{Desc: s.desc, Repo: s.repo}}}, nil
		}
	}
	var entries []Placed
	seen := map[digest.Digest]int{}
	add := func(d ocispec.Descriptor, repo name.Repository) {
		i, ok := seen[d.Digest]
		if !ok {
			seen[d.Digest] = len(entries)
			entries = append(entries, Placed{Desc: d, Repo: repo})
			return
		}
		old := &entries[i].Desc
		if old.MediaType == "" {
			old.MediaType = d.MediaType
		}
		if d.Platform != nil {
			old.Platform = d.Platform
		}
		if len(d.Annotations) > 0 {
			old.Annotations = maps.Clone(old.Annotations)
			if old.Annotations == nil {
				old.Annotations = map[string]string{}
			}
			maps.Copy(old.Annotations, d.Annotations)
		}
	}
	for _, s := range srcs {
		if !isIndex(s.desc.MediaType) {
			add(s.desc, s.repo)
			continue
		}
		var idx ocispec.Index
		if err := json.Unmarshal(s.raw, &idx); err != nil {
			return nil, fmt.Errorf("decoding index %s: %w", s.desc.Digest, err)
		}
		for _, d := range idx.Manifests {
			add(d, s.repo)
		}
	}
	return newIndex(entries, o)
}

// asIs takes one index source as the result: its entries stay where they are.
func asIs(s resolved) (*Combined, error) {
	var idx ocispec.Index
	if err := json.Unmarshal(s.raw, &idx); err != nil {
		return nil, fmt.Errorf("decoding index %s: %w", s.desc.Digest, err)
	}
	out := &Combined{Raw: s.raw, Desc: s.desc}
	for _, d := range idx.Manifests {
		out.Manifests = append(out.Manifests, Placed{Desc: d, Repo: s.repo})
	}
	return out, nil
}

// newIndex encodes the index as kiln's builds do (image.CommitIndex), so a
// stitched index of a build's platform manifests is that build's index.
func newIndex(entries []Placed, o CombineOptions) (*Combined, error) {
	mt := dockerList
	for _, e := range entries {
		if !strings.HasPrefix(e.Desc.MediaType, "application/vnd.docker.") {
			mt = ocispec.MediaTypeImageIndex
		}
	}
	annotated := len(o.IndexAnnotations) > 0 || len(o.DescriptorAnnotations) > 0
	if annotated && mt == dockerList {
		// buildx drops them silently; kiln says so.
		return nil, fmt.Errorf("annotations need an OCI index, and every source is a Docker manifest (the result is a Docker manifest list)")
	}
	descs := make([]ocispec.Descriptor, len(entries))
	for i, e := range entries {
		descs[i] = e.Desc
		for _, a := range o.DescriptorAnnotations {
			if a.Platform != nil && (e.Desc.Platform == nil || platforms.Format(*a.Platform) != platforms.Format(platforms.Normalize(*e.Desc.Platform))) {
				continue
			}
			descs[i].Annotations = maps.Clone(descs[i].Annotations)
			if descs[i].Annotations == nil {
				descs[i].Annotations = map[string]string{}
			}
			descs[i].Annotations[a.Key] = a.Value
		}
		entries[i].Desc = descs[i]
	}
	raw, err := json.Marshal(ocispec.Index{
		Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: mt,
		Manifests: descs, Annotations: o.IndexAnnotations,
	})
	if err != nil {
		return nil, fmt.Errorf("encoding index: %w", err)
	}
	return &Combined{Raw: raw, Desc: ocispec.Descriptor{MediaType: mt, Digest: digest.FromBytes(raw), Size: int64(len(raw))}, Manifests: entries}, nil
}
