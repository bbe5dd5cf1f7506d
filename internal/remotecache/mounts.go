package remotecache

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"syscall"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sys/unix"

	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/layer"
	"github.com/kiln-build/kiln/internal/store"
)

// DefaultMountsMaxSize bounds the cache mounts one --cache-to exports
// (cache-mounts-max-size=), so a runaway cache fails loudly instead of
// filling the registry or the bucket.
const DefaultMountsMaxSize = 4 << 30

// Mount is one RUN --mount=type=cache directory in a remote cache: its
// store identity (the id, default the target, plus the from=/source=
// identity or the mode, uid and gid: snapshot.CacheRequest.ID, made of
// nothing machine-specific), the directory's owner and mode, and its
// content as a layer blob. The blob is content-addressed: an unchanged
// cache is the same blob, which no export uploads again.
type Mount struct {
	ID    string      `json:"id"`
	Mode  uint32      `json:"mode"`
	UID   int         `json:"uid"`
	GID   int         `json:"gid"`
	Layer image.Layer `json:"layer"`
}

// noClamp keeps a cache's mtimes: the layer writer clamps only newer ones.
var noClamp = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// MountSize is the bytes of the regular files under dir.
func MountSize(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			n += fi.Size()
		}
		return nil
	})
	return n, err
}

// PackMount writes the cache directory dir (held locked by the caller) as a
// blob in the store and describes it.
func PackMount(ctx context.Context, s *store.Store, id, dir string) (Mount, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return Mount{}, err
	}
	st := fi.Sys().(*syscall.Stat_t)
	m := Mount{ID: id, Mode: uint32(fi.Mode().Perm()), UID: int(st.Uid), GID: int(st.Gid)}
	_, _, err = s.WriteBlob(func(w io.Writer) error {
		m.Layer, err = layer.WriteDir(ctx, w, dir, layer.Options{Epoch: noClamp})
		return err
	})
	if err != nil {
		return Mount{}, fmt.Errorf("packing cache mount %s: %w", id, err)
	}
	return m, nil
}

// Mount finds a cache mount by store identity.
func (src *Source) Mount(id string) (Mount, bool) {
	m, ok := src.mounts[id]
	return m, ok
}

// HasMount reports whether one of srcs holds cache mount id.
func HasMount(srcs []*Source, id string) bool {
	for _, src := range srcs {
		if _, ok := src.Mount(id); ok {
			return true
		}
	}
	return false
}

// RestoreMount fills the store's directory of cache mount id from the
// first source that holds it, unless the store has the directory already
// (this machine's own cache wins). The content is unpacked beside it and
// renamed into place, so no build sees a half-restored cache; restored
// reports whether it was.
func RestoreMount(ctx context.Context, s *store.Store, srcs []*Source, id string) (restored bool, err error) {
	dest := s.CacheMountPath(id, 0)
	if _, err := os.Lstat(dest); err == nil {
		return false, nil
	}
	for _, src := range srcs {
		m, ok := src.Mount(id)
		if !ok {
			continue
		}
		d := ocispec.Descriptor{MediaType: m.Layer.MediaType, Digest: m.Layer.Digest, Size: m.Layer.Size}
		if err := src.fetch(ctx, d); err != nil {
			return false, fmt.Errorf("restoring cache mount %s: %w", id, err)
		}
		return unpackMount(ctx, s, m, dest)
	}
	return false, nil
}

func unpackMount(ctx context.Context, s *store.Store, m Mount, dest string) (bool, error) {
	tmp, err := s.TempDir("cache-restore")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(tmp)
	f, err := s.OpenBlob(m.Layer.Digest)
	if err != nil {
		return false, err
	}
	defer f.Close()
	diffID, err := layer.Unpack(ctx, f, tmp)
	if err != nil {
		return false, fmt.Errorf("restoring cache mount %s: %w", m.ID, err)
	}
	if m.Layer.DiffID != "" && diffID != m.Layer.DiffID {
		return false, fmt.Errorf("restoring cache mount %s: content %s, want %s", m.ID, diffID, m.Layer.DiffID)
	}
	if err := os.Chmod(tmp, os.FileMode(m.Mode)); err != nil {
		return false, err
	}
	if err := os.Chown(tmp, m.UID, m.GID); err != nil {
		return false, err
	}
	err = unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, dest, unix.RENAME_NOREPLACE)
	if errors.Is(err, unix.EEXIST) || errors.Is(err, unix.ENOTEMPTY) {
		return false, nil // a concurrent build made it first
	}
	if err != nil {
		return false, fmt.Errorf("restoring cache mount %s: %w", m.ID, err)
	}
	return true, nil
}

// CarryMounts returns the cache mounts of srcs that are not in skip (the
// ones this build used and packs itself), their blobs fetched into the
// store, so an export after a build whose steps were all cached keeps
// them. The first source holding an id wins, as in RestoreMount.
func CarryMounts(ctx context.Context, srcs []*Source, skip map[string]bool) ([]Mount, error) {
	var out []Mount
	seen := map[string]bool{}
	for _, src := range srcs {
		for id, m := range src.mounts {
			if skip[id] || seen[id] {
				continue
			}
			seen[id] = true
			d := ocispec.Descriptor{MediaType: m.Layer.MediaType, Digest: m.Layer.Digest, Size: m.Layer.Size}
			if err := src.fetch(ctx, d); err != nil {
				return nil, fmt.Errorf("keeping cache mount %s: %w", id, err)
			}
			out = append(out, m)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}
