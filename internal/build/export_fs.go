package build

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	fscopy "github.com/tonistiigi/fsutil/copy"

	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/instr"
	"github.com/kiln-build/kiln/internal/layer"
)

// exportLocal copies the final filesystem into dest, as buildx's type=local
// does: with several platforms, one sub-directory each (linux_arm64).
func exportLocal(ctx context.Context, env *instr.Env, b built, dest string) error {
	if len(b.images) == 1 {
		return copyOut(ctx, env, b.images[0], dest)
	}
	for _, img := range b.images {
		p := img.Config.Platform
		dir := p.OS + "_" + p.Architecture
		if p.Variant != "" {
			dir += "_" + p.Variant
		}
		if err := copyOut(ctx, env, img, filepath.Join(dest, dir)); err != nil {
			return err
		}
	}
	return nil
}

func copyOut(ctx context.Context, env *instr.Env, img *image.Image, dest string) error {
	m, err := env.Snap.View(ctx, img.Layers)
	if err != nil {
		return err
	}
	defer m.Close()
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", dest, err)
	}
	return fscopy.Copy(ctx, m.Root, "/", dest, "/", fscopy.WithCopyInfo(fscopy.CopyInfo{CopyDirContents: true}))
}

// exportFSTar writes the final filesystem as one uncompressed tar.
func exportFSTar(ctx context.Context, env *instr.Env, img *image.Image, dest string) error {
	m, err := env.Snap.View(ctx, img.Layers)
	if err != nil {
		return err
	}
	defer m.Close()
	return writeFileAtomic(dest, func(f *os.File) error {
		_, err := layer.WriteDir(ctx, io.Writer(f), m.Root, layer.Options{Epoch: env.Epoch, Compression: layer.Uncompressed})
		return err
	})
}
