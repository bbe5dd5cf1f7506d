package build

import (
	"context"
	"fmt"
	"io"
	"os"

	fscopy "github.com/tonistiigi/fsutil/copy"

	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/instr"
	"github.com/kiln-build/kiln/internal/layer"
)

// exportLocal copies the image's final filesystem into dest, as buildx's
// type=local does.
func exportLocal(ctx context.Context, env *instr.Env, img *image.Image, dest string) error {
	m, err := env.MountImage(ctx, img, "")
	if err != nil {
		return err
	}
	defer instr.UnmountImage(m)
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", dest, err)
	}
	return fscopy.Copy(ctx, m.Root, "/", dest, "/", fscopy.WithCopyInfo(fscopy.CopyInfo{CopyDirContents: true}))
}

// exportFSTar writes the final filesystem as one uncompressed tar.
func exportFSTar(ctx context.Context, env *instr.Env, img *image.Image, dest string) error {
	m, err := env.MountImage(ctx, img, "")
	if err != nil {
		return err
	}
	defer instr.UnmountImage(m)
	return writeFileAtomic(dest, func(f *os.File) error {
		_, err := layer.WriteDir(ctx, io.Writer(f), m.Root, layer.Options{Epoch: env.Epoch, Compression: layer.Uncompressed})
		return err
	})
}
