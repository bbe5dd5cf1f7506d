package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	digest "github.com/opencontainers/go-digest"
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
	err := os.Rename(dir, dst)
	if err == nil {
		return syncDir(s.path(dirLayers))
	}
	if errors.Is(err, fs.ErrExist) || errors.Is(err, os.ErrExist) || s.HasLayerDir(diffID) {
		return removeAll(dir)
	}
	return fmt.Errorf("committing layer %s: %w", diffID, err)
}
