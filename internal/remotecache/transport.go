package remotecache

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/registry"
	"github.com/kiln-build/kiln/internal/store"
)

// Export writes entries, and the cache mounts, to the cache sp names.
func Export(ctx context.Context, s *store.Store, client *registry.Client, sp Spec, entries []Entry, mounts ...Mount) error {
	desc, err := Commit(s, entries, mounts...)
	if err != nil {
		return err
	}
	switch sp.Type {
	case "local":
		return image.WriteOCIDir(sp.Dir, s, []image.Named{{Name: "cache", Descriptor: desc}})
	case "s3":
		return exportS3(ctx, s, sp.S3, desc)
	default:
		return client.Push(ctx, s, desc, sp.Ref)
	}
}

// Import reads the cache sp names (a kiln cache artifact, or an image that
// carries an inline cache); its layers are fetched only when needed.
// A cache that does not exist yet is no error: the build just runs.
func Import(ctx context.Context, s *store.Store, client *registry.Client, sp Spec) (*Source, error) {
	switch sp.Type {
	case "local":
		return importDir(ctx, s, sp.Dir)
	case "s3":
		return importS3(ctx, s, sp.S3)
	}
	desc, err := client.FetchManifest(ctx, s, sp.Ref)
	if err != nil {
		return nil, err
	}
	fetch := func(ctx context.Context, d ocispec.Descriptor) error { return client.FetchBlob(ctx, s, sp.Ref, d) }
	repo, err := name.ParseReference(sp.Ref)
	if err != nil {
		return nil, err
	}
	fetchManifest := func(ctx context.Context, d ocispec.Descriptor) error {
		if s.HasBlob(d.Digest) {
			return nil
		}
		_, err := client.FetchManifest(ctx, s, repo.Context().Name()+"@"+d.Digest.String())
		return err
	}
	return newSource(ctx, s, desc, fetch, fetchManifest)
}

func importDir(ctx context.Context, s *store.Store, dir string) (*Source, error) {
	data, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		return nil, fmt.Errorf("reading cache %s: %w", dir, err)
	}
	var idx ocispec.Index
	if err := json.Unmarshal(data, &idx); err != nil || len(idx.Manifests) == 0 {
		return nil, fmt.Errorf("reading cache %s: no manifest in index.json", dir)
	}
	fetch := func(_ context.Context, d ocispec.Descriptor) error { return copyIn(s, dir, d) }
	desc := idx.Manifests[len(idx.Manifests)-1]
	if err := fetch(ctx, desc); err != nil {
		return nil, err
	}
	return newSource(ctx, s, desc, fetch, fetch)
}

// copyIn copies a blob of a layout directory into the store, verifying it.
func copyIn(s *store.Store, dir string, d ocispec.Descriptor) error {
	if s.HasBlob(d.Digest) {
		return nil
	}
	f, err := image.OpenLayoutBlob(dir, d)
	if err != nil {
		return fmt.Errorf("reading cache: %w", err)
	}
	defer f.Close()
	return storeVerified(s, d, image.LimitBlob(f, d.Size))
}

// storeVerified writes r into the store as blob d, failing (and storing
// nothing) unless its bytes have d's digest and size.
func storeVerified(s *store.Store, d ocispec.Descriptor, r io.Reader) error {
	if err := image.ValidDigest(d.Digest); err != nil {
		return fmt.Errorf("cache blob: %w", err)
	}
	_, _, err := s.WriteBlob(func(w io.Writer) error {
		h := d.Digest.Algorithm().Digester()
		n, err := io.Copy(io.MultiWriter(w, h.Hash()), r)
		if err != nil {
			return err
		}
		if h.Digest() != d.Digest {
			return fmt.Errorf("cache blob %s has digest %s", d.Digest, h.Digest())
		}
		if d.Size > 0 && n != d.Size {
			return fmt.Errorf("cache blob %s has %d bytes, want %d", d.Digest, n, d.Size)
		}
		return nil
	})
	return err
}
