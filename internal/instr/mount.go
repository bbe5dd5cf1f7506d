package instr

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	digest "github.com/opencontainers/go-digest"

	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/layer"
	"github.com/kiln-build/kiln/internal/snapshot"
	"github.com/kiln-build/kiln/internal/store"
	"github.com/kiln-build/kiln/internal/testhook"
)

// keyDigest adapts anything digest-shaped for the store's cache calls.
func keyDigest(k interface{ Encoded() string }) digest.Digest {
	return digest.NewDigestFromEncoded(digest.SHA256, k.Encoded())
}

// MountImage mounts img's layers. With work != "" the mount is writable and
// its upper and work dirs live in work; otherwise it is a read-only view.
func (e *Env) MountImage(ctx context.Context, img *image.Image, work string) (*snapshot.Mount, error) {
	lowers := make([]string, 0, len(img.Layers))
	seen := map[string]bool{}
	for i := len(img.Layers) - 1; i >= 0; i-- {
		dir, err := e.EnsureLayer(ctx, img.Layers[i])
		if err != nil {
			return nil, err
		}
		// overlayfs refuses a directory twice. A layer identical to a higher
		// one adds nothing the higher one does not already show (or hide),
		// so only the topmost copy is mounted.
		if !seen[dir] {
			seen[dir] = true
			lowers = append(lowers, dir)
		}
	}
	target, err := e.Store.MountDir()
	if err != nil {
		return nil, err
	}
	m, err := snapshot.MountOverlay(snapshot.Options{Lowers: lowers, Empty: e.Store.EmptyDir(), Target: target, WorkArea: work, Caps: e.caps()})
	if err != nil {
		os.Remove(target)
		return nil, err
	}
	return m, nil
}

// UnmountImage unmounts a view made by MountImage and removes its mount point.
func UnmountImage(m *snapshot.Mount) error {
	if err := m.Unmount(); err != nil {
		return err
	}
	return os.Remove(m.Root)
}

// caps are the mode's capabilities, root's when nothing chose.
func (e *Env) caps() snapshot.Capabilities {
	if e.Caps.XattrPrefix == "" {
		return snapshot.RootCapabilities
	}
	return e.Caps
}

// EnsureLayer returns the unpacked directory of a layer, unpacking its blob
// (and checking its DiffID) the first time, and again when another mode
// made the directory: its opaque marks or owners would be wrong here.
func (e *Env) EnsureLayer(ctx context.Context, l image.Layer) (string, error) {
	caps := e.caps()
	replace := false
	if e.Store.HasLayerDir(l.DiffID) {
		if e.Store.LayerDirMark(l.DiffID) == caps.LayerMark() {
			return e.Store.LayerDir(l.DiffID), nil
		}
		replace = true
	}
	if err := e.EnsureBlob(ctx, l); err != nil {
		return "", err
	}
	tmp, err := e.Store.TempDir("unpack")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	f, err := e.Store.OpenBlob(l.Digest)
	if err != nil {
		return "", err
	}
	defer f.Close()
	dir := filepath.Join(tmp, "layer")
	if err := os.Mkdir(dir, 0o755); err != nil {
		return "", err
	}
	diffID, err := layer.UnpackWith(ctx, f, dir, layer.UnpackOptions{OpaqueXattr: caps.OpaqueXattr(), NoDevices: !caps.Mknod})
	if err != nil {
		return "", fmt.Errorf("unpacking layer %s: %w", l.Digest, err)
	}
	if diffID != l.DiffID {
		return "", fmt.Errorf("layer %s: content has diff ID %s, image says %s", l.Digest, diffID, l.DiffID)
	}
	testhook.Point(testhook.Unpack)
	if err := store.MarkLayerDir(dir, caps.LayerMark()); err != nil {
		return "", err
	}
	commit := e.Store.CommitLayerDir
	if replace {
		commit = e.Store.ReplaceLayerDir
	}
	if err := commit(dir, l.DiffID); err != nil {
		return "", err
	}
	return e.Store.LayerDir(l.DiffID), nil
}
