package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/containerd/platforms"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-build/kiln/internal/store"
	"github.com/kiln-build/kiln/internal/testhook"
)

const (
	dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
	dockerList     = "application/vnd.docker.distribution.manifest.list.v2+json"
)

// Pull fetches ref (a tag or digest; "node:20-alpine" is
// docker.io/library/node:20-alpine) into the store: the manifest or index,
// and for platform p the manifest, config and every layer blob, skipping
// blobs the store has and verifying each one's digest as it downloads. The
// store name ref is tagged with the descriptor of what the tag points at.
// Mirrors configured for the registry are tried first, in order.
func (c *Client) Pull(ctx context.Context, s *store.Store, ref string, p ocispec.Platform) (ocispec.Descriptor, error) {
	r, err := c.parse(ref)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	srcs, err := c.sources(ctx, r)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("pulling %s: %w", ref, err)
	}
	var mirrorErrs []string
	for _, src := range srcs[:len(srcs)-1] {
		desc, err := c.pullFrom(ctx, s, src, p)
		if err == nil {
			return tag(s, ref, desc)
		}
		if ctx.Err() != nil {
			return ocispec.Descriptor{}, classify("pulling", ref, err)
		}
		mirrorErrs = append(mirrorErrs, fmt.Sprintf("%s: %v", src.ref.Context().RegistryStr(), err))
	}
	desc, err := c.pullFrom(ctx, s, srcs[len(srcs)-1], p)
	if err != nil {
		err = classify("pulling", ref, err)
		if len(mirrorErrs) > 0 {
			err = fmt.Errorf("%w (mirrors failed too: %s)", err, strings.Join(mirrorErrs, "; "))
		}
		return ocispec.Descriptor{}, err
	}
	return tag(s, ref, desc)
}

func tag(s *store.Store, ref string, desc ocispec.Descriptor) (ocispec.Descriptor, error) {
	testhook.Point(testhook.Pull)
	if err := s.Tag(ref, desc); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("tagging %s: %w", ref, err)
	}
	return desc, nil
}

// pullFrom pulls everything from one source and returns the top descriptor.
func (c *Client) pullFrom(ctx context.Context, s *store.Store, src source, p ocispec.Platform) (ocispec.Descriptor, error) {
	puller, err := remote.NewPuller(src.opts...)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	top, err := fetchManifest(ctx, s, puller, src, src.ref.Identifier())
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	testhook.Point(testhook.Pull)
	target := top
	if isIndex(top.MediaType) {
		if target, err = choosePlatform(s, top, p); err != nil {
			return ocispec.Descriptor{}, err
		}
		if !s.HasBlob(target.Digest) {
			if _, err := fetchManifest(ctx, s, puller, src, target.Digest.String()); err != nil {
				return ocispec.Descriptor{}, err
			}
		}
	}
	if err := fetchImageBlobs(ctx, s, puller, src, target, c.jobs()); err != nil {
		return ocispec.Descriptor{}, err
	}
	if isIndex(top.MediaType) {
		if err := fetchAttestations(ctx, s, puller, src, top, target, c.jobs()); err != nil {
			return ocispec.Descriptor{}, err
		}
	}
	recordPulled(s, src.ref.Context(), target)
	return top, nil
}

// fetchAttestations pulls the attestation manifests of the pulled platform
// (a few KiB: provenance, SBOM), so that the image keeps them when it is
// saved or pushed again, as BuildKit's image exporter laid them out.
func fetchAttestations(ctx context.Context, s *store.Store, puller *remote.Puller, src source, index, target ocispec.Descriptor, jobs int) error {
	data, err := s.ReadBlob(index.Digest)
	if err != nil {
		return fmt.Errorf("reading index: %w", err)
	}
	var idx ocispec.Index
	if err := json.Unmarshal(data, &idx); err != nil {
		return fmt.Errorf("decoding index %s: %w", index.Digest, err)
	}
	for _, m := range idx.Manifests {
		if m.Annotations[attestationRefType] != "attestation-manifest" || m.Annotations[attestationRefDigest] != target.Digest.String() {
			continue
		}
		if !s.HasBlob(m.Digest) {
			if _, err := fetchManifest(ctx, s, puller, src, m.Digest.String()); err != nil {
				return fmt.Errorf("fetching attestation manifest %s: %w", m.Digest, err)
			}
		}
		if err := fetchImageBlobs(ctx, s, puller, src, m, jobs); err != nil {
			return fmt.Errorf("fetching attestation %s: %w", m.Digest, err)
		}
	}
	return nil
}

// The annotations BuildKit gives an attestation manifest in an index (the
// registry package does not import attest, which imports the store).
const (
	attestationRefType   = "vnd.docker.reference.type"
	attestationRefDigest = "vnd.docker.reference.digest"
)

// fetchManifest gets the manifest or index that id (a tag or digest) names
// in src's repository and stores it; a digest id must match the content.
func fetchManifest(ctx context.Context, s *store.Store, puller *remote.Puller, src source, id string) (ocispec.Descriptor, error) {
	var ref name.Reference = src.ref.Context().Tag(id)
	var want digest.Digest
	if d, err := digest.Parse(id); err == nil {
		ref, want = src.ref.Context().Digest(id), d
	}
	rd, err := puller.Get(ctx, ref)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	return storeManifest(s, string(rd.MediaType), rd.Manifest, want)
}

// storeManifest stores manifest bytes after checking them against want (if set).
func storeManifest(s *store.Store, mediaType string, raw []byte, want digest.Digest) (ocispec.Descriptor, error) {
	got := digest.FromBytes(raw)
	if want != "" && got != want {
		return ocispec.Descriptor{}, fmt.Errorf("fetching manifest %s: %w (content has digest %s)", want, ErrDigestMismatch, got)
	}
	switch mediaType {
	case ocispec.MediaTypeImageManifest, ocispec.MediaTypeImageIndex, dockerManifest, dockerList:
	default:
		return ocispec.Descriptor{}, fmt.Errorf("fetching manifest %s: unsupported media type %q", got, mediaType)
	}
	if _, err := s.PutBlob(raw); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("storing manifest %s: %w", got, err)
	}
	return ocispec.Descriptor{MediaType: mediaType, Digest: got, Size: int64(len(raw))}, nil
}

func isIndex(mt string) bool { return mt == ocispec.MediaTypeImageIndex || mt == dockerList }

// choosePlatform picks the index entry that best matches p.
func choosePlatform(s *store.Store, index ocispec.Descriptor, p ocispec.Platform) (ocispec.Descriptor, error) {
	data, err := s.ReadBlob(index.Digest)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("reading index: %w", err)
	}
	var idx ocispec.Index
	if err := json.Unmarshal(data, &idx); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("decoding index %s: %w", index.Digest, err)
	}
	match := platforms.Only(p)
	var best *ocispec.Descriptor
	var have []string
	for i, m := range idx.Manifests {
		if m.Platform == nil || isIndex(m.MediaType) {
			continue
		}
		have = append(have, platforms.Format(*m.Platform))
		if match.Match(*m.Platform) && (best == nil || match.Less(*m.Platform, *best.Platform)) {
			best = &idx.Manifests[i]
		}
	}
	if best == nil {
		return ocispec.Descriptor{}, fmt.Errorf("choosing platform: no manifest for %s (index has: %s)",
			platforms.Format(p), strings.Join(have, ", "))
	}
	return *best, nil
}
