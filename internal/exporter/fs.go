package exporter

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	fscopy "github.com/tonistiigi/fsutil/copy"

	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/layer"
)

// localDir is type=local: the final filesystem copied into a directory, as
// buildx's; with several platforms, one sub-directory each (linux_arm64).
type localDir struct {
	line string
	dest string
}

func (e localDir) Name() string { return e.line }

func (e localDir) Export(ctx context.Context, s Session, r Result) error {
	if len(r.Images) == 1 {
		return copyOut(ctx, s, r.Images[0], e.dest)
	}
	for _, img := range r.Images {
		p := img.Config.Platform
		dir := p.OS + "_" + p.Architecture
		if p.Variant != "" {
			dir += "_" + p.Variant
		}
		if err := copyOut(ctx, s, img, filepath.Join(e.dest, dir)); err != nil {
			return err
		}
	}
	return nil
}

func copyOut(ctx context.Context, s Session, img *image.Image, dest string) error {
	v, err := s.Snap.View(ctx, img.Layers)
	if err != nil {
		return err
	}
	defer v.Close()
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", dest, err)
	}
	return fscopy.Copy(ctx, v.Root, "/", dest, "/", fscopy.WithCopyInfo(fscopy.CopyInfo{CopyDirContents: true}))
}

// fsTar is type=tar: the final filesystem as one uncompressed tar.
type fsTar struct {
	line string
	dest string
}

func (e fsTar) Name() string { return e.line }

func (e fsTar) Export(ctx context.Context, s Session, r Result) error {
	if len(r.Images) > 1 {
		return fmt.Errorf("output type=tar with several platforms is not supported yet; use type=local or type=oci")
	}
	v, err := s.Snap.View(ctx, r.Images[0].Layers)
	if err != nil {
		return err
	}
	defer v.Close()
	return writeFileAtomic(e.dest, func(f *os.File) error {
		_, err := layer.WriteDir(ctx, io.Writer(f), v.Root, layer.Options{Epoch: s.Epoch, Compression: layer.Uncompressed})
		return err
	})
}
