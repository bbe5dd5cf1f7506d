// Package remotecache shares kiln's step cache through a directory or an
// OCI registry (--cache-to / --cache-from), so a build on another machine
// resolves unchanged steps without running them. See docs/remote-cache.md.
package remotecache

import (
	"context"
	"encoding/json"
	"fmt"

	digest "github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/store"
)

// Media types of the cache artifact: an OCI image manifest whose config
// lists step keys and whose layers are the layers those steps made.
const (
	ArtifactType    = "application/vnd.kiln.cache.v1"
	ConfigMediaType = "application/vnd.kiln.cache.config.v1+json"
)

// Entry is one step: its cache key and the layer it made (none for a step
// that changed nothing).
type Entry struct {
	Key   digest.Digest `json:"key"`
	Layer *image.Layer  `json:"layer,omitempty"`
	// Content, for a source memo, is the content digest of the COPY --from
	// selection Key names; such an entry has no layer.
	Content digest.Digest `json:"content,omitempty"`
}

type config struct {
	Entries []Entry `json:"entries"`
	Mounts  []Mount `json:"mounts,omitempty"` // cache-mounts=true
}

// Commit writes the cache artifact for entries and cache mounts into the
// store.
func Commit(s *store.Store, entries []Entry, mounts ...Mount) (ocispec.Descriptor, error) {
	cfg, err := json.Marshal(config{Entries: entries, Mounts: mounts})
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	cfgDigest, err := s.PutBlob(cfg)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	m := ocispec.Manifest{
		Versioned:    specs.Versioned{SchemaVersion: 2},
		MediaType:    ocispec.MediaTypeImageManifest,
		ArtifactType: ArtifactType,
		Config:       ocispec.Descriptor{MediaType: ConfigMediaType, Digest: cfgDigest, Size: int64(len(cfg))},
		Layers:       []ocispec.Descriptor{},
	}
	seen := map[digest.Digest]bool{}
	add := func(l image.Layer) {
		if !seen[l.Digest] {
			seen[l.Digest] = true
			m.Layers = append(m.Layers, ocispec.Descriptor{MediaType: l.MediaType, Digest: l.Digest, Size: l.Size})
		}
	}
	for _, e := range entries {
		if e.Layer != nil {
			add(*e.Layer)
		}
	}
	for _, mt := range mounts {
		add(mt.Layer)
	}
	data, err := json.Marshal(m)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	d, err := s.PutBlob(data)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	return ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, ArtifactType: ArtifactType, Digest: d, Size: int64(len(data))}, nil
}

// Source is an imported cache: step keys and how to get their layers' bytes.
type Source struct {
	entries map[digest.Digest]Entry
	mounts  map[string]Mount // by store identity (Mount.ID)
	fetch   func(ctx context.Context, d ocispec.Descriptor) error
}

// Lookup answers a step from the imported cache.
func (src *Source) Lookup(key digest.Digest) (*image.Layer, bool) {
	e, ok := src.entries[key]
	return e.Layer, ok
}

// LookupSource answers a source memo from the imported cache.
func (src *Source) LookupSource(key digest.Digest) (digest.Digest, bool) {
	e, ok := src.entries[key]
	return e.Content, ok && e.Content != ""
}

// Has reports whether the cache can provide a layer's bytes.
func (src *Source) Has(l image.Layer) bool {
	for _, e := range src.entries {
		if e.Layer != nil && e.Layer.Digest == l.Digest {
			return true
		}
	}
	return false
}

// Fetch downloads a layer blob into the store, only when a later step or
// the export needs its bytes.
func (src *Source) Fetch(ctx context.Context, l image.Layer) error {
	return src.fetch(ctx, ocispec.Descriptor{MediaType: l.MediaType, Digest: l.Digest, Size: l.Size})
}

// newSource reads the cache a manifest (already in the store) names: a
// kiln cache artifact, or an ordinary image (or index of images) whose
// config carries an inline cache (--cache-to type=inline). fetchManifest
// stores a manifest an index names; fetch stores a blob.
func newSource(ctx context.Context, s *store.Store, desc ocispec.Descriptor, fetch, fetchManifest func(context.Context, ocispec.Descriptor) error) (*Source, error) {
	raw, err := s.ReadBlob(desc.Digest)
	if err != nil {
		return nil, err
	}
	src := &Source{entries: map[digest.Digest]Entry{}, mounts: map[string]Mount{}, fetch: fetch}
	var manifests []ocispec.Descriptor
	if isIndex(desc.MediaType, raw) {
		var idx ocispec.Index
		if err := json.Unmarshal(raw, &idx); err != nil {
			return nil, fmt.Errorf("decoding index %s: %w", desc.Digest, err)
		}
		for _, d := range idx.Manifests {
			if isIndex(d.MediaType, nil) {
				continue
			}
			if err := fetchManifest(ctx, d); err != nil {
				return nil, err
			}
			manifests = append(manifests, d)
		}
	} else {
		manifests = []ocispec.Descriptor{desc}
	}
	found := false
	for _, d := range manifests {
		ok, err := src.read(ctx, s, d)
		if err != nil {
			return nil, err
		}
		found = found || ok
	}
	if !found {
		return nil, fmt.Errorf("%s is neither a kiln cache nor an image built with --cache-to type=inline", desc.Digest)
	}
	return src, nil
}

// read adds the entries of one manifest: a cache artifact's config, or an
// image config's inline cache; ok is false when it holds neither.
func (src *Source) read(ctx context.Context, s *store.Store, desc ocispec.Descriptor) (ok bool, err error) {
	raw, err := s.ReadBlob(desc.Digest)
	if err != nil {
		return false, err
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return false, fmt.Errorf("decoding manifest %s: %w", desc.Digest, err)
	}
	if m.Config.Digest == "" {
		return false, nil
	}
	if err := src.fetch(ctx, m.Config); err != nil {
		return false, err
	}
	data, err := s.ReadBlob(m.Config.Digest)
	if err != nil {
		return false, err
	}
	var entries []Entry
	if m.Config.MediaType == ConfigMediaType {
		var cfg config
		if err := json.Unmarshal(data, &cfg); err != nil {
			return false, fmt.Errorf("decoding cache config: %w", err)
		}
		entries, ok = cfg.Entries, true
		for _, mt := range cfg.Mounts {
			src.mounts[mt.ID] = mt
		}
	} else if entries, ok, err = DecodeInline(data, m.Layers); err != nil {
		return false, fmt.Errorf("image %s: %w", desc.Digest, err)
	}
	for _, e := range entries {
		src.entries[e.Key] = e
	}
	return ok, nil
}

// isIndex tells an image index (OCI or Docker list) by its media type or,
// when that is unknown (an OCI layout's index.json entry may omit it), by
// its content.
func isIndex(mediaType string, raw []byte) bool {
	switch mediaType {
	case ocispec.MediaTypeImageIndex, "application/vnd.docker.distribution.manifest.list.v2+json":
		return true
	case "":
		var probe struct {
			Manifests []json.RawMessage `json:"manifests"`
		}
		return raw != nil && json.Unmarshal(raw, &probe) == nil && probe.Manifests != nil
	}
	return false
}
