package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"

	"github.com/kiln-build/kiln/internal/store"
	"github.com/kiln-build/kiln/internal/testhook"
)

// fetchImageBlobs downloads the config and layers of a stored manifest that
// the store lacks, jobs at a time.
func fetchImageBlobs(ctx context.Context, s *store.Store, puller *remote.Puller, src source, manifest ocispec.Descriptor, jobs int) error {
	data, err := s.ReadBlob(manifest.Digest)
	if err != nil {
		return fmt.Errorf("reading manifest: %w", err)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return fmt.Errorf("decoding manifest %s: %w", manifest.Digest, err)
	}
	var missing []ocispec.Descriptor
	var total int64
	for _, d := range append([]ocispec.Descriptor{m.Config}, m.Layers...) {
		if !s.HasBlob(d.Digest) {
			missing, total = append(missing, d), total+d.Size
		}
	}
	counter := counterFor(ctx, total)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(jobs)
	for _, d := range missing {
		g.Go(func() error { return fetchBlob(gctx, s, puller, src, d, counter) })
	}
	return g.Wait()
}

// fetchBlob streams one blob into the store, hashing it on the way: a blob
// whose content does not match its digest is never stored.
func fetchBlob(ctx context.Context, s *store.Store, puller *remote.Puller, src source, d ocispec.Descriptor, counter ByteCounter) error {
	if err := d.Digest.Validate(); err != nil {
		return fmt.Errorf("fetching blob %q: %w", d.Digest, err)
	}
	layer, err := puller.Layer(ctx, src.ref.Context().Digest(d.Digest.String()))
	if err != nil {
		return fmt.Errorf("fetching blob %s: %w", d.Digest, err)
	}
	rc, err := layer.Compressed()
	if err != nil {
		return fmt.Errorf("fetching blob %s: %w", d.Digest, err)
	}
	rc = countReads(rc, counter)
	defer rc.Close()
	_, _, err = s.WriteBlob(func(w io.Writer) error {
		h := d.Digest.Algorithm().Digester()
		// One byte past the declared size is enough to know the registry
		// sends too much: a layer declared as 100 B must not fill the disk.
		n, err := io.Copy(io.MultiWriter(w, h.Hash()), io.LimitReader(rc, d.Size+1))
		if n > d.Size {
			return fmt.Errorf("fetching blob %s: the registry sent more than the %d bytes the manifest declares", d.Digest, d.Size)
		}
		got := h.Digest()
		// go-containerregistry verifies too and fails at the end of a bad
		// blob; the full length read with a wrong hash is that case.
		if (err == nil || n == d.Size) && got != d.Digest {
			return fmt.Errorf("fetching blob %s: %w: the registry sent %d bytes with digest %s",
				d.Digest, ErrDigestMismatch, n, got)
		}
		if err != nil {
			return fmt.Errorf("fetching blob %s: %w", d.Digest, err)
		}
		if n != d.Size {
			return fmt.Errorf("fetching blob %s: got %d bytes, manifest says %d", d.Digest, n, d.Size)
		}
		testhook.Point(testhook.Pull) // written, not yet renamed into place
		return nil
	})
	return err
}
