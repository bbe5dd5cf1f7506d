package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	digest "github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"
)

// LayerDir is the unpacked directory (overlay lower-dir format) of a layer,
// named by a short prefix of its DiffID: overlayfs takes all lower dirs in one
// page-sized mount option, so names must stay short.
func (s *Store) LayerDir(diffID digest.Digest) string {
	return s.path(dirLayers, diffID.Encoded()[:16])
}

// LayerDirName is the name under l/ of the layer's directory ("" for a
// DiffID too short to name one).
func LayerDirName(diffID digest.Digest) string {
	if len(diffID.Encoded()) < 16 {
		return ""
	}
	return diffID.Encoded()[:16]
}

// LayerDirs lists the names of the unpacked layer directories (and of any
// other entry found under l/). It only reads the store.
func (s *Store) LayerDirs() ([]string, error) {
	entries, err := os.ReadDir(s.path(dirLayers))
	if err != nil {
		return nil, fmt.Errorf("listing layer directories: %w", err)
	}
	out := make([]string, 0, len(entries))
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out, nil
}

// HasLayerDir reports whether the layer is unpacked.
func (s *Store) HasLayerDir(diffID digest.Digest) bool {
	_, err := os.Stat(s.LayerDir(diffID))
	return err == nil
}

// CommitLayerDir moves a finished directory (a step's upperdir or a freshly
// unpacked blob) into place as the layer's directory. If another process got
// there first, ours is discarded: both hold the same content.
func (s *Store) CommitLayerDir(dir string, diffID digest.Digest) error {
	dst := s.LayerDir(diffID)
	// No directory sync: an unpacked directory is a copy of the layer's
	// (synced) blob whose files are not synced either, so making the
	// rename durable would guard nothing; a directory lost in a power cut
	// is unpacked again from the blob.
	err := os.Rename(dir, dst)
	if err == nil {
		return nil
	}
	if errors.Is(err, fs.ErrExist) || errors.Is(err, os.ErrExist) || s.HasLayerDir(diffID) {
		return removeAll(dir)
	}
	return fmt.Errorf("committing layer %s: %w", diffID, err)
}

// layerMarkXattr holds, on a layer directory, the mark of the mode that
// made it (snapshot.Capabilities.LayerMark).
const layerMarkXattr = "user.kiln.made-by"

// LegacyLayerMark is the mark of directories made before marks existed:
// all of them by root on a host.
const LegacyLayerMark = "trusted. host"

// LayerDirMark returns the mark of the layer's directory.
func (s *Store) LayerDirMark(diffID digest.Digest) string {
	buf := make([]byte, 256)
	n, err := unix.Getxattr(s.LayerDir(diffID), layerMarkXattr, buf)
	if err != nil {
		return LegacyLayerMark
	}
	return string(buf[:n])
}

// MarkLayerDir records mark on a directory about to become a layer's. A
// filesystem without user xattrs keeps only root's legacy mark.
func MarkLayerDir(dir, mark string) error {
	err := unix.Setxattr(dir, layerMarkXattr, []byte(mark), 0)
	if errors.Is(err, unix.ENOTSUP) && mark == LegacyLayerMark {
		return nil
	}
	if err != nil {
		return fmt.Errorf("marking layer directory: %w", err)
	}
	return nil
}

// ReplaceLayerDir puts dir in place of the layer's existing directory,
// made by another mode. The old one moves to tmp/, under this process's
// name, so it is removed once no mount can be using it.
func (s *Store) ReplaceLayerDir(dir string, diffID digest.Digest) error {
	old, err := s.TempDir("oldlayer")
	if err != nil {
		return err
	}
	if err := os.Rename(s.LayerDir(diffID), filepath.Join(old, "l")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("replacing layer %s: %w", diffID, err)
	}
	return s.CommitLayerDir(dir, diffID)
}
