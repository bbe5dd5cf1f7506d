package snapshot

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/opencontainers/go-digest"
	"golang.org/x/sync/errgroup"

	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/layer"
	"github.com/kiln-build/kiln/internal/store"
	"github.com/kiln-build/kiln/internal/testhook"
)

// unpacked keeps the store's unpacked layer directories (overlay's lower
// dir format) for a mode: any implementation can hold one.
type unpacked struct {
	st    *store.Store
	fetch func(ctx context.Context, l image.Layer) error
	caps  Capabilities
}

// lowerDirs unpacks the layers that are not yet, and lists their
// directories top first. overlayfs refuses a directory twice: a layer
// identical to a higher one adds nothing the higher one does not already
// show (or hide), so only the topmost copy is listed. Missing layers are
// unpacked unpackJobs at a time: unpacking is mostly waiting for file
// creates, which overlap across layers.
func (o unpacked) lowerDirs(ctx context.Context, layers []image.Layer) ([]string, error) {
	var unique []image.Layer
	index := map[digest.Digest]int{}
	for _, l := range layers {
		if _, ok := index[l.DiffID]; !ok {
			index[l.DiffID] = len(unique)
			unique = append(unique, l)
		}
	}
	dirs := make([]string, len(unique))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(unpackJobs)
	for i, l := range unique {
		g.Go(func() error {
			dir, err := o.layerDir(gctx, l)
			dirs[i] = dir
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	lowers := make([]string, 0, len(unique))
	seen := map[string]bool{}
	for i := len(layers) - 1; i >= 0; i-- {
		dir := dirs[index[layers[i].DiffID]]
		if !seen[dir] {
			seen[dir] = true
			lowers = append(lowers, dir)
		}
	}
	return lowers, nil
}

// unpackJobs bounds the layers of one mount unpacked at once.
const unpackJobs = 3

// layerDir returns the unpacked directory of a layer, unpacking its blob
// (and checking its DiffID) the first time, and again when another mode
// made the directory: its opaque marks or owners would be wrong here.
func (o unpacked) layerDir(ctx context.Context, l image.Layer) (string, error) {
	replace := false
	if o.st.HasLayerDir(l.DiffID) {
		if o.st.LayerDirMark(l.DiffID) == o.caps.LayerMark() {
			return o.st.LayerDir(l.DiffID), nil
		}
		replace = true
	}
	if !o.st.HasBlob(l.Digest) {
		if o.fetch == nil {
			return "", fmt.Errorf("layer %s is not in the store", l.Digest)
		}
		if err := o.fetch(ctx, l); err != nil {
			return "", err
		}
	}
	tmp, err := o.st.TempDir("unpack")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	f, err := o.st.OpenBlob(l.Digest)
	if err != nil {
		return "", err
	}
	defer f.Close()
	dir := filepath.Join(tmp, "layer")
	if err := os.Mkdir(dir, 0o755); err != nil {
		return "", err
	}
	diffID, err := layer.UnpackWith(ctx, f, dir, layer.UnpackOptions{XattrPrefix: o.caps.XattrPrefix, NoDevices: !o.caps.Mknod})
	if err != nil {
		return "", fmt.Errorf("unpacking layer %s: %w", l.Digest, err)
	}
	if diffID != l.DiffID {
		return "", fmt.Errorf("layer %s: content has diff ID %s, image says %s", l.Digest, diffID, l.DiffID)
	}
	testhook.Point(testhook.Unpack)
	if err := store.MarkLayerDir(dir, o.caps.LayerMark()); err != nil {
		return "", err
	}
	commit := o.st.CommitLayerDir
	if replace {
		commit = o.st.ReplaceLayerDir
	}
	if err := commit(dir, l.DiffID); err != nil {
		return "", err
	}
	return o.st.LayerDir(l.DiffID), nil
}
