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
