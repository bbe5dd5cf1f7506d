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
		return copyOutAttested(ctx, s, r, 0, e.dest)
	}
	for i, img := range r.Images {
		p := img.Config.Platform
		dir := p.OS + "_" + p.Architecture
		if p.Variant != "" {
			dir += "_" + p.Variant
		}
		if err := copyOutAttested(ctx, s, r, i, filepath.Join(e.dest, dir)); err != nil {
			return err
		}
	}
	return nil
}

// copyOutAttested is copyOut plus the statement files the output gets,
// about the files it copied.
func copyOutAttested(ctx context.Context, s Session, r Result, platform int, dest string) error {
	if err := copyOut(ctx, s, r.Images[platform], dest); err != nil {
		return err
	}
	files, err := r.attestFiles(Form{Type: "local"}, platform, regularFiles(dest))
	if err != nil {
		return err
	}
	return writeStatementFiles(dest, files)
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
	files, err := r.attestFiles(Form{Type: "tar"}, 0, regularFiles(v.Root))
	if err != nil {
		return err
	}
	return writeFileAtomic(e.dest, func(f *os.File) error {
		if len(files) == 0 {
			_, err := layer.WriteDir(ctx, io.Writer(f), v.Root, layer.Options{Epoch: s.Epoch, Compression: layer.Uncompressed})
			return err
		}
		held := &trailerHolder{w: f}
		if _, err := layer.WriteDir(ctx, held, v.Root, layer.Options{Epoch: s.Epoch, Compression: layer.Uncompressed}); err != nil {
			return err
		}
		if err := held.held(); err != nil {
			return err
		}
		return appendStatementFiles(f, files, s.Epoch)
	})
}
