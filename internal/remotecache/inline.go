package remotecache

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/store"
)

// InlineKey is the top-level image config field that holds an inline cache
// (--cache-to type=inline), as BuildKit's "moby.buildkit.cache.v0".
const InlineKey = "kiln.cache.v1"

// inlineCache is the value of InlineKey. An entry's layer is an index into
// the image's own layers (manifest layers and rootfs.diff_ids), so the
// cache can name no layer the image does not carry.
type inlineCache struct {
	Entries []inlineEntry `json:"entries"`
}

type inlineEntry struct {
	Key     digest.Digest `json:"key"`
	Layer   *int          `json:"layer,omitempty"`
	Content digest.Digest `json:"content,omitempty"`
}

// EncodeInline is the inline cache of an image with these layers: the
// entries whose layer is one of them and the entries that made no layer
// (mode=min), sorted by key so the same build gives the same bytes.
// Source memos are left out: see docs/remote-cache.md.
func EncodeInline(entries []Entry, layers []image.Layer) ([]byte, error) {
	index := map[digest.Digest]int{}
	for i := len(layers) - 1; i >= 0; i-- {
		index[layers[i].Digest] = i
	}
	c := inlineCache{Entries: []inlineEntry{}}
	seen := map[digest.Digest]bool{}
	for _, e := range entries {
		if e.Content != "" || seen[e.Key] {
			continue
		}
		ie := inlineEntry{Key: e.Key}
		if e.Layer != nil {
			i, ok := index[e.Layer.Digest]
			if !ok || layers[i].DiffID != e.Layer.DiffID {
				continue // not in this image: mode=min leaves it out
			}
			ie.Layer = &i
		}
		seen[e.Key] = true
		c.Entries = append(c.Entries, ie)
	}
	sort.Slice(c.Entries, func(i, j int) bool { return c.Entries[i].Key < c.Entries[j].Key })
	return json.Marshal(c)
}

// DecodeInline reads the inline cache of an image config (raw JSON) whose
// manifest lists layers; ok is false when the config carries none.
func DecodeInline(config []byte, layers []ocispec.Descriptor) (entries []Entry, ok bool, err error) {
	var cfg struct {
		Cache  *inlineCache `json:"kiln.cache.v1"`
		RootFS struct {
			DiffIDs []digest.Digest `json:"diff_ids"`
		} `json:"rootfs"`
	}
	if err := json.Unmarshal(config, &cfg); err != nil {
		return nil, false, fmt.Errorf("decoding image config: %w", err)
	}
	if cfg.Cache == nil {
		return nil, false, nil
	}
	if len(cfg.RootFS.DiffIDs) != len(layers) {
		return nil, false, fmt.Errorf("inline cache: manifest lists %d layers, config %d", len(layers), len(cfg.RootFS.DiffIDs))
	}
	for _, ie := range cfg.Cache.Entries {
		if err := ie.Key.Validate(); err != nil {
			return nil, false, fmt.Errorf("inline cache: key: %w", err)
		}
		e := Entry{Key: ie.Key, Content: ie.Content}
		if ie.Layer != nil {
			i := *ie.Layer
			if i < 0 || i >= len(layers) {
				return nil, false, fmt.Errorf("inline cache: entry %s names layer %d of %d", ie.Key, i, len(layers))
			}
			l := layers[i]
			e.Layer = &image.Layer{Digest: l.Digest, DiffID: cfg.RootFS.DiffIDs[i], Size: l.Size, MediaType: l.MediaType}
		}
		entries = append(entries, e)
	}
	return entries, true, nil
}

// EmbedInline rewrites a committed image (manifest in the store) so its
// config carries the inline cache for entries, and returns the new
// manifest's descriptor. Everything else in the config and the manifest
// keeps its bytes: the field is spliced in before the config's closing
// brace, and the manifest changes only in its config descriptor.
func EmbedInline(s *store.Store, manifest ocispec.Descriptor, entries []Entry) (ocispec.Descriptor, error) {
	raw, err := s.ReadBlob(manifest.Digest)
	if err != nil {
		return manifest, err
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return manifest, fmt.Errorf("decoding manifest %s: %w", manifest.Digest, err)
	}
	cfg, err := s.ReadBlob(m.Config.Digest)
	if err != nil {
		return manifest, err
	}
	var layers []image.Layer
	var rootfs struct {
		RootFS struct {
			DiffIDs []digest.Digest `json:"diff_ids"`
		} `json:"rootfs"`
	}
	if err := json.Unmarshal(cfg, &rootfs); err != nil || len(rootfs.RootFS.DiffIDs) != len(m.Layers) {
		return manifest, fmt.Errorf("image %s: config and manifest disagree on its layers", manifest.Digest)
	}
	for i, l := range m.Layers {
		layers = append(layers, image.Layer{Digest: l.Digest, DiffID: rootfs.RootFS.DiffIDs[i], Size: l.Size, MediaType: l.MediaType})
	}
	enc, err := EncodeInline(entries, layers)
	if err != nil {
		return manifest, err
	}
	cfg, err = spliceField(cfg, InlineKey, enc)
	if err != nil {
		return manifest, err
	}
	cd, err := s.PutBlob(cfg)
	if err != nil {
		return manifest, err
	}
	m.Config.Digest, m.Config.Size = cd, int64(len(cfg))
	data, err := json.Marshal(m)
	if err != nil {
		return manifest, err
	}
	md, err := s.PutBlob(data)
	if err != nil {
		return manifest, err
	}
	manifest.Digest, manifest.Size = md, int64(len(data))
	return manifest, nil
}

// spliceField adds "key": value as the last field of a JSON object.
func spliceField(obj []byte, key string, value []byte) ([]byte, error) {
	obj = bytes.TrimSpace(obj)
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(obj, &probe); err != nil {
		return nil, fmt.Errorf("image config is not a JSON object: %w", err)
	}
	if _, ok := probe[key]; ok {
		return nil, fmt.Errorf("image config already has %q", key)
	}
	k, _ := json.Marshal(key)
	body := bytes.TrimSpace(obj[:len(obj)-1])
	out := append([]byte{}, body...)
	if len(probe) > 0 {
		out = append(out, ',')
	}
	out = append(out, k...)
	out = append(out, ':')
	out = append(out, value...)
	return append(out, '}'), nil
}
