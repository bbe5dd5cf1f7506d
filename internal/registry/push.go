package registry

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"

	"github.com/kiln-build/kiln/internal/store"
	"github.com/kiln-build/kiln/internal/testhook"
)

// Push uploads the image (manifest or index) desc names in the store to the
// registry reference remoteName. Only blobs the registry lacks are uploaded,
// several at a time; an index brings all its platform manifests along.
//
// Every blob is in place before any manifest is put, so a push that fails
// half-way (a cut connection, a full disk) leaves the tag as it was; the
// blobs it did upload make the next try shorter.
func (c *Client) Push(ctx context.Context, s *store.Store, desc ocispec.Descriptor, remoteName string) error {
	ref, err := c.parse(remoteName)
	if err != nil {
		return err
	}
	opts, err := c.options(ctx, ref.Context().RegistryStr())
	if err != nil {
		return fmt.Errorf("pushing %s: %w", remoteName, err)
	}
	top, blobs, err := pushable(s, desc, ref.Context())
	if err != nil {
		return fmt.Errorf("pushing %s: %w", remoteName, err)
	}
	p, err := remote.NewPusher(opts...)
	if err != nil {
		return fmt.Errorf("pushing %s: %w", remoteName, err)
	}
	if err := c.uploadBlobs(ctx, p, ref.Context(), blobs); err != nil {
		return classify("pushing", remoteName, err)
	}
	// The pusher remembers the blobs it uploaded: this puts the manifests
	// (an index's children first) and the tag last.
	if err := p.Push(ctx, ref, top); err != nil {
		return classify("pushing", remoteName, err)
	}
	// The repository now holds every blob, an index's as a single image's:
	// a later push to another repository of this registry mounts them.
	recordSources(s, ref.Context(), blobDigests(blobs))
	return nil
}

// pushable reads desc from the store as what to put at the tag and the
// blobs (layers and configs, each once) it needs in the registry. Layers
// another repository of the registry is known to hold come as mountable.
func pushable(s *store.Store, desc ocispec.Descriptor, repo name.Repository) (remote.Taggable, []v1.Layer, error) {
	vd, err := toV1(desc)
	if err != nil {
		return nil, nil, err
	}
	sources := loadSources(s, repo.RegistryStr())
	if isIndex(desc.MediaType) {
		idx, err := indexFromStore(s, vd)
		if err != nil {
			return nil, nil, err
		}
		mi := &mountingIndex{imageIndex: idx, sources: sources, target: repo}
		blobs, err := indexBlobs(mi, map[v1.Hash]bool{})
		return mi, blobs, err
	}
	img, err := imageFromStore(s, vd)
	if err != nil {
		return nil, nil, err
	}
	mi := &mountingImage{Image: img, sources: sources, target: repo}
	blobs, err := imageBlobs(mi, map[v1.Hash]bool{})
	return mi, blobs, err
}

// imageBlobs lists img's layers and config blob that seen lacks.
func imageBlobs(img v1.Image, seen map[v1.Hash]bool) ([]v1.Layer, error) {
	layers, err := img.Layers()
	if err != nil {
		return nil, err
	}
	cl, err := partial.ConfigLayer(img)
	if err != nil {
		return nil, err
	}
	var out []v1.Layer
	for _, l := range append(layers, cl) {
		d, err := l.Digest()
		if err != nil {
			return nil, err
		}
		if !seen[d] {
			seen[d] = true
			out = append(out, l)
		}
	}
	return out, nil
}

// indexBlobs lists the blobs of every image an index (and any index in it)
// holds.
func indexBlobs(idx v1.ImageIndex, seen map[v1.Hash]bool) ([]v1.Layer, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	var out []v1.Layer
	for _, d := range im.Manifests {
		var blobs []v1.Layer
		switch {
		case d.MediaType.IsIndex():
			child, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return nil, err
			}
			blobs, err = indexBlobs(child, seen)
			if err != nil {
				return nil, err
			}
		case d.MediaType.IsImage():
			img, err := idx.Image(d.Digest)
			if err != nil {
				return nil, err
			}
			blobs, err = imageBlobs(img, seen)
			if err != nil {
				return nil, err
			}
		}
		out = append(out, blobs...)
	}
	return out, nil
}

// uploadBlobs uploads the blobs the registry lacks (mounting those another
// repository of it holds), c.Jobs at a time. A failure names the blob.
func (c *Client) uploadBlobs(ctx context.Context, p *remote.Pusher, repo name.Repository, blobs []v1.Layer) error {
	var total int64
	for _, l := range blobs {
		size, _ := l.Size()
		total += size
	}
	// Blobs the registry has or mounts are not read: the count may stop short.
	counter := counterFor(ctx, total)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.jobs())
	for _, l := range blobs {
		// A mountable layer keeps its type: go-containerregistry mounts it by
		// type assertion (its bytes move only if the mount is refused).
		if _, mountable := l.(*remote.MountableLayer); counter != nil && !mountable {
			l = countingLayer{l, counter}
		}
		g.Go(func() error {
			testhook.Point(testhook.Store)
			if err := p.Upload(gctx, repo, l); err != nil {
				d, _ := l.Digest()
				size, _ := l.Size()
				return &BlobError{Digest: d, Size: size, Repo: repo.Name(), Err: err}
			}
			return nil
		})
	}
	return g.Wait()
}

// PushByDigest pushes the image desc names in the store to repository repo
// without a tag (-o type=image,push-by-digest=true) and returns its
// canonical name, repo@digest. As in BuildKit, a name with a tag or digest
// is refused. The exporter reports the digest as containerimage.digest in
// --metadata-file; `kiln imagetools create` later stitches such digests
// into one tagged index.
func (c *Client) PushByDigest(ctx context.Context, s *store.Store, desc ocispec.Descriptor, repo string) (string, error) {
	if hasTagOrDigest(repo) {
		return "", fmt.Errorf("can't push tagged ref %s by digest: give the repository only", repo)
	}
	ref, err := c.parse(repo)
	if err != nil {
		return "", err
	}
	canonical := ref.Context().Digest(desc.Digest.String())
	if err := c.Push(ctx, s, desc, canonical.String()); err != nil {
		return "", err
	}
	return canonical.String(), nil
}

// hasTagOrDigest reports whether an image name goes past its repository:
// a digest, or a ':' in its last path component (a registry's port comes
// before the first '/').
func hasTagOrDigest(ref string) bool {
	last := ref[strings.LastIndex(ref, "/")+1:]
	return strings.Contains(ref, "@") || strings.Contains(last, ":")
}
