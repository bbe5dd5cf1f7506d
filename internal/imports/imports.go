// Package imports makes base images from root filesystems (`kiln import`).
package imports

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/moby/buildkit/util/system"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/layer"
	"github.com/kiln-build/kiln/internal/store"
)

// Options for an import.
type Options struct {
	Platform    ocispec.Platform
	Compression string
}

// Rootfs stores a directory or a tar (plain, gzip or zstd) as a one-layer
// image and returns its manifest descriptor. The layer is normalized like
// every kiln layer, so the same tree always gives the same digest.
func Rootfs(ctx context.Context, s *store.Store, src string, o Options) (ocispec.Descriptor, error) {
	fi, err := os.Stat(src)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("reading %s: %w", src, err)
	}
	dir := src
	if !fi.IsDir() {
		tmp, err := s.TempDir("import")
		if err != nil {
			return ocispec.Descriptor{}, err
		}
		defer os.RemoveAll(tmp)
		if dir, err = unpackTar(ctx, src, tmp); err != nil {
			return ocispec.Descriptor{}, err
		}
	}
	opts := layer.Options{Compression: layer.Compression(o.Compression)}
	var desc image.Layer
	if _, _, err := s.WriteBlob(func(w io.Writer) error {
		desc, err = layer.WriteDir(ctx, w, dir, opts)
		return err
	}); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("writing layer of %s: %w", src, err)
	}
	img := image.New(o.Platform)
	epoch := time.Unix(0, 0).UTC()
	img.Config.Created = &epoch
	img.Config.Config.Env = []string{"PATH=" + system.DefaultPathEnvUnix}
	img.AddLayer(&desc,
		"kiln import "+filepath.Base(src), epoch)
	return image.Commit(s, img)
}

func unpackTar(ctx context.Context, src, tmp string) (string, error) {
	f, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer f.Close()
	dir := filepath.Join(tmp, "rootfs")
	if err := os.Mkdir(dir, 0o755); err != nil {
		return "", err
	}
	if _, err := layer.Unpack(ctx, f, dir); err != nil {
		return "", fmt.Errorf("unpacking %s: %w", src, err)
	}
	return dir, nil
}
