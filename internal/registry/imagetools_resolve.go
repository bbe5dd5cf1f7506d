package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/containerd/platforms"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Remote is a manifest in a registry, as `imagetools inspect` shows it.
type Remote struct {
	Ref  name.Reference
	Desc ocispec.Descriptor
	Raw  []byte
}

// GetManifest fetches the manifest ref names (no blob), verifying a digest
// reference's bytes.
func (c *Client) GetManifest(ctx context.Context, ref string) (*Remote, error) {
	r, err := c.parse(ref)
	if err != nil {
		return nil, err
	}
	opts, err := c.options(ctx, r.Context().RegistryStr())
	if err != nil {
		return nil, fmt.Errorf("fetching %s: %w", ref, err)
	}
	rd, err := remote.Get(r, opts...)
	if err != nil {
		return nil, classify("fetching", ref, err)
	}
	got := digest.FromBytes(rd.Manifest)
	if d, ok := r.(name.Digest); ok && d.DigestStr() != got.String() {
		return nil, fmt.Errorf("fetching %s: %w (content has digest %s)", ref, ErrDigestMismatch, got)
	}
	return &Remote{Ref: r, Raw: rd.Manifest, Desc: ocispec.Descriptor{MediaType: string(rd.MediaType), Digest: got, Size: int64(len(rd.Manifest))}}, nil
}

// resolveSource fetches a source's manifest (by its digest when the
// source gives one), merges what the source says over it, and fills in
// the platform of an image manifest from its config, as buildx does.
func (c *Client) resolveSource(ctx context.Context, src IndexSource) (resolved, error) {
	ref := src.Ref
	if src.Desc.Digest != "" {
		r, err := c.parse(src.Ref)
		if err != nil {
			return resolved{}, err
		}
		ref = r.Context().Name() + "@" + src.Desc.Digest.String()
	}
	m, err := c.GetManifest(ctx, ref)
	if err != nil {
		return resolved{}, err
	}
	desc, err := mergeDescriptor(m.Desc, src.Desc)
	if err != nil {
		return resolved{}, fmt.Errorf("source %s: %w", ref, err)
	}
	switch desc.MediaType {
	case ocispec.MediaTypeImageManifest, dockerManifest:
		if desc.Platform == nil || desc.Platform.OS == "" || desc.Platform.Architecture == "" {
			if desc.Platform, err = c.configPlatform(ctx, m, desc.Platform); err != nil {
				return resolved{}, err
			}
		}
	case ocispec.MediaTypeImageIndex, dockerList:
	default:
		return resolved{}, fmt.Errorf("source %s: a %q cannot go into an index (want an image manifest or an index)", ref, desc.MediaType)
	}
	return resolved{desc: desc, raw: m.Raw, repo: m.Ref.Context()}, nil
}

// mergeDescriptor lays what a descriptor source says over what the
// registry answered: a size must agree; media type, annotations (replaced,
// not merged, so a source can drop them) and platform override.
func mergeDescriptor(got, from ocispec.Descriptor) (ocispec.Descriptor, error) {
	if from.Size != 0 && from.Size != got.Size {
		return got, fmt.Errorf("the descriptor says %d bytes, the registry has %d for %s", from.Size, got.Size, got.Digest)
	}
	if from.MediaType != "" {
		got.MediaType = from.MediaType
	}
	if len(from.Annotations) > 0 {
		got.Annotations = from.Annotations
	}
	if from.Platform != nil {
		p := *from.Platform
		got.Platform = &p
	}
	return got, nil
}

// configPlatform reads an image's platform from its config blob (the one
// blob imagetools reads), keeping what p already says.
func (c *Client) configPlatform(ctx context.Context, m *Remote, p *ocispec.Platform) (*ocispec.Platform, error) {
	var mf ocispec.Manifest
	if err := json.Unmarshal(m.Raw, &mf); err != nil {
		return nil, fmt.Errorf("decoding manifest %s: %w", m.Desc.Digest, err)
	}
	opts, err := c.options(ctx, m.Ref.Context().RegistryStr())
	if err != nil {
		return nil, err
	}
	l, err := remote.Layer(m.Ref.Context().Digest(mf.Config.Digest.String()), opts...)
	if err != nil {
		return nil, classify("fetching the config of", m.Ref.String(), err)
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, classify("fetching the config of", m.Ref.String(), err)
	}
	defer rc.Close()
	// Read to the end: the blob's digest is checked there.
	data, err := io.ReadAll(rc)
	if err != nil {
		return nil, classify("fetching the config of", m.Ref.String(), err)
	}
	var cfg ocispec.Platform
	if err := json.Unmarshal(data, &cfg); err != nil {
		return nil, fmt.Errorf("decoding the config of %s: %w", m.Ref, err)
	}
	cfg = platforms.Normalize(cfg)
	out := ocispec.Platform{}
	if p != nil {
		out = *p
	}
	if out.Architecture == "" {
		out.Architecture = cfg.Architecture
		if out.Variant == "" {
			out.Variant = cfg.Variant
		}
	}
	if out.OS == "" {
		out.OS = cfg.OS
	}
	return &out, nil
}
