package instr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"syscall"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	digest "github.com/opencontainers/go-digest"
	fscopy "github.com/tonistiigi/fsutil/copy"

	"github.com/kiln-build/kiln/internal/cachekey"
	"github.com/kiln-build/kiln/internal/executor"
	"github.com/kiln-build/kiln/internal/image"
)

// seededDir is the directory, inside a from= cache mount's store
// directory, that holds the cache: it appears whole (by rename) once seeded.
const seededDir = "c"

// cacheOptions is a cache mount's interpreted flags.
type cacheOptions struct {
	id, sharing    string
	source         string // path mounted, inside the cache ("/" for all of it)
	mode, uid, gid uint64
	permsSet       bool // one of mode=, uid=, gid= was given
	readonly       bool
	seed           *cacheSeed
	storeID        string // the store directory's name: id, plus the seed's identity
	keyOptions     []string
	keySource      digest.Digest
}

// cacheSeed is a cache mount's initial content, from= and source=.
// BuildKit makes the cache a mutable copy of the from= reference and keys
// it by id and that reference: a different from= is a different cache.
type cacheSeed struct {
	identity digest.Digest // of the base filesystem, the seeded path and any mkdir
	path     string        // copied from the base: source=, or /cache (see newCacheSeed)
	mkdir    bool          // make path with mode/uid/gid when the base lacks it
	root     func(ctx context.Context) (string, func(), error)
}

// cacheMount is RUN --mount=type=cache: a directory that persists in the
// store across builds, keyed by id (default: the target). Its content never
// enters the step's key; from= (the seed's identity) and source= do.
func (e *Env) cacheMount(ctx context.Context, s *State, m *instructions.Mount, target string) (*preparedMount, error) {
	o, err := e.cacheOptions(ctx, s, m, target)
	if err != nil {
		return nil, err
	}
	opts := []string{"rbind"}
	if o.readonly {
		opts = append(opts, "ro")
	}
	pm := &preparedMount{key: cachekey.Mount{Type: "cache", Target: target, Source: o.keySource, Readonly: o.readonly, Options: o.keyOptions}}
	pm.setup = func(ctx context.Context) (*executor.Mount, func(), error) {
		dir, release, err := e.cacheDir(ctx, o)
		if err != nil {
			return nil, nil, err
		}
		src, err := cacheSubdir(dir, o.source)
		if err != nil {
			release()
			return nil, nil, err
		}
		return &executor.Mount{Type: "bind", Source: src, Destination: target, Options: opts}, release, nil
	}
	return pm, nil
}

// cacheOptions interprets the flags as BuildKit's dispatchRunMounts does:
// the default id is the cleaned target; mode, uid and gid apply only
// without source=.
func (e *Env) cacheOptions(ctx context.Context, s *State, m *instructions.Mount, target string) (*cacheOptions, error) {
	o := &cacheOptions{id: m.CacheID, sharing: string(m.CacheSharing), source: path.Join("/", m.Source),
		mode: 0o755, readonly: m.ReadOnly}
	if o.id == "" {
		o.id = path.Clean(target)
	}
	if o.sharing == "" {
		o.sharing = string(instructions.MountSharingShared)
	}
	if m.Mode != nil {
		o.mode = *m.Mode
	}
	if m.UID != nil {
		o.uid = *m.UID
	}
	if m.GID != nil {
		o.gid = *m.GID
	}
	o.permsSet = m.Mode != nil || m.UID != nil || m.GID != nil
	o.storeID = o.id
	o.keyOptions = []string{"mode=" + strconv.FormatUint(o.mode, 8),
		"uid=" + strconv.FormatUint(o.uid, 10), "gid=" + strconv.FormatUint(o.gid, 10)}
	// BuildKit's checkShouldClearCacheOpts: an explicit id= or sharing= is
	// left out of the key, so renaming a cache does not rerun the step; only
	// the default form (id = target, shared) stays in it.
	if o.id == path.Clean(target) && o.sharing == "shared" {
		o.keyOptions = append(o.keyOptions, "id="+o.id, "sharing="+o.sharing)
	}
	if o.source != "/" {
		o.keyOptions = append(o.keyOptions, "source="+o.source)
	}
	if m.From == "" {
		return o, nil
	}
	seed, err := e.newCacheSeed(ctx, s, m.From, o)
	if err != nil {
		return nil, err
	}
	o.seed = seed
	o.keyOptions = append(o.keyOptions, "from="+m.From)
	o.keySource = seed.identity
	o.storeID = o.id + ":" + seed.identity.Encoded()
	return o, nil
}

// newCacheSeed resolves from= now, so the step's key can name it. Like
// BuildKit, mode=, uid= or gid= without source= make the cache the base's
// /cache directory (created with them if the base lacks one) instead of its
// root. Only the seeded path is copied, not the whole base.
func (e *Env) newCacheSeed(ctx context.Context, s *State, from string, o *cacheOptions) (*cacheSeed, error) {
	seed := &cacheSeed{path: o.source}
	if o.source == "/" && o.permsSet {
		seed.path, seed.mkdir = "/cache", true
	}
	o.source = "/" // the cache holds only the seeded path: mount all of it
	src, err := s.From(ctx, from)
	if err != nil {
		return nil, err
	}
	id := struct {
		Layers []digest.Digest `json:"layers,omitempty"`
		Dir    digest.Digest   `json:"dir,omitempty"`
		Path   string          `json:"path"`
		Mkdir  []uint64        `json:"mkdir,omitempty"`
	}{Path: seed.path}
	if seed.mkdir {
		id.Mkdir = []uint64{o.mode, o.uid, o.gid}
	}
	if src.Local != nil {
		if id.Dir, err = src.Local.Context.Hash(ctx, []string{seed.path}, nil, true); err != nil && !seed.mkdir {
			return nil, fmt.Errorf("--mount=type=cache from=%s: %w", from, err)
		}
		seed.root = func(ctx context.Context) (string, func(), error) {
			dir, err := src.Local.View(ctx)
			return dir, func() {}, err
		}
	} else {
		id.Layers = layerIDs(src.Image)
		img := src.Image
		seed.root = func(ctx context.Context) (string, func(), error) {
			m, err := e.MountImage(ctx, img, "")
			if err != nil {
				return "", nil, err
			}
			return m.Root, func() { UnmountImage(m) }, nil
		}
	}
	data, err := json.Marshal(id)
	if err != nil {
		return nil, err
	}
	seed.identity = digest.FromBytes(data)
	return seed, nil
}

// layerIDs names an image's filesystem: its layers' diff IDs, bottom first
// (BuildKit keys the cache by the from= reference's snapshot).
func layerIDs(img *image.Image) []digest.Digest {
	ids := make([]digest.Digest, 0, len(img.Layers))
	for _, l := range img.Layers {
		ids = append(ids, l.DiffID)
	}
	return ids
}

// cacheDir returns the cache directory to mount (before source=), after
// sharing= is applied, and how to release it.
func (e *Env) cacheDir(ctx context.Context, o *cacheOptions) (string, func(), error) {
	dir, created, err := e.Store.CacheMountDir(o.storeID)
	if err != nil {
		return "", nil, err
	}
	if o.seed == nil && created {
		if err := initCacheDir(dir, o); err != nil {
			return "", nil, err
		}
	}
	dir, release, fresh, err := e.shareCacheDir(ctx, dir, o.sharing)
	if err != nil {
		return "", nil, err
	}
	if fresh && o.seed == nil {
		err = initCacheDir(dir, o)
	}
	if err == nil && o.seed != nil {
		err = e.seedCacheDir(ctx, dir, o)
		dir = filepath.Join(dir, seededDir)
	}
	if err != nil {
		release()
		return "", nil, err
	}
	return dir, release, nil
}

// initCacheDir gives a new cache directory its mode and owner.
func initCacheDir(dir string, o *cacheOptions) error {
	if err := os.Chmod(dir, os.FileMode(o.mode)); err != nil {
		return err
	}
	return os.Chown(dir, int(o.uid), int(o.gid))
}

// seedCacheDir fills dir/c from the seed unless it is there already. The
// copy is made beside it and renamed into place, so a crash or a
// concurrent build never leaves a half-seeded cache.
func (e *Env) seedCacheDir(ctx context.Context, dir string, o *cacheOptions) error {
	dst := filepath.Join(dir, seededDir)
	if _, err := os.Lstat(dst); err == nil {
		return nil
	}
	tmp, err := os.MkdirTemp(dir, ".seed-")
	if err != nil {
		return fmt.Errorf("seeding cache mount: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := o.seed.copyTo(ctx, filepath.Join(tmp, seededDir), o); err != nil {
		return fmt.Errorf("seeding cache mount from %s: %w", o.seed.path, err)
	}
	err = os.Rename(filepath.Join(tmp, seededDir), dst)
	if err != nil && (errors.Is(err, fs.ErrExist) || errors.Is(err, syscall.ENOTEMPTY)) {
		return nil // another build seeded it first
	}
	return err
}

// copyTo copies the seed's path of its base to dst, a new name.
func (seed *cacheSeed) copyTo(ctx context.Context, dst string, o *cacheOptions) error {
	root, release, err := seed.root(ctx)
	if err != nil {
		return err
	}
	defer release()
	src, err := securejoin.SecureJoin(root, seed.path)
	if err != nil {
		return err
	}
	fi, err := os.Stat(src)
	switch {
	case seed.mkdir && errors.Is(err, fs.ErrNotExist):
		if err := os.Mkdir(dst, 0o700); err != nil {
			return err
		}
		return initCacheDir(dst, o)
	case err != nil:
		return err
	case !fi.IsDir():
		return fmt.Errorf("%s is not a directory", seed.path)
	}
	return fscopy.Copy(ctx, src, "/", filepath.Dir(dst), filepath.Base(dst))
}

// cacheSubdir is source= inside the cache: it must exist (BuildKit mounts
// a sub-path of the cache and fails when there is none).
func cacheSubdir(dir, source string) (string, error) {
	if source == "/" {
		return dir, nil
	}
	src, err := securejoin.SecureJoin(dir, source)
	if err != nil {
		return "", err
	}
	fi, err := os.Stat(src)
	if err != nil {
		return "", fmt.Errorf("--mount=type=cache source=%s: %w", source, errors.Unwrap(err))
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("--mount=type=cache source=%s: not a directory", source)
	}
	return src, nil
}

// shareCacheDir applies sharing=: shared uses the directory as is; locked
// waits for an exclusive lock (across kiln processes too); private uses the
// directory when no one else does, else a new one (fresh) thrown away after.
func (e *Env) shareCacheDir(ctx context.Context, dir, sharing string) (string, func(), bool, error) {
	if sharing == string(instructions.MountSharingShared) {
		return dir, func() {}, false, nil
	}
	f, err := os.Open(dir)
	if err != nil {
		return "", nil, false, err
	}
	unlock := func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }
	if sharing == string(instructions.MountSharingPrivate) {
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil {
			return dir, unlock, false, nil
		}
		f.Close()
		tmp, err := e.Store.TempDir("cache-private")
		if err != nil {
			return "", nil, false, err
		}
		return tmp, func() { os.RemoveAll(tmp) }, true, nil
	}
	for {
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err == nil {
			return dir, unlock, false, nil
		}
		select {
		case <-ctx.Done():
			f.Close()
			return "", nil, false, ctx.Err()
		case <-after(50):
		}
	}
}
