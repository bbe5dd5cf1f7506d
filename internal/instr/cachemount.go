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
	"golang.org/x/sys/unix"

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
	permsSet       bool // one of mode=, uid=, gid= was given, without source=
	readonly       bool
	seed           *cacheSeed
	storeID        string // the store directory's name: id, plus its base's identity
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
//
// The store keeps one directory per cache identity. BuildKit's
// (cacheRefGetter.getRefCacheDir) is the id plus the ID of the mount's base
// reference, when there is one: the from= reference; without from=, the
// "scratch with /cache" made by setCacheUIDGID when mode=, uid= or gid= is
// given (without source=); else none, the id alone. So storeID is the id,
// plus the seed's identity with from=, or plus the /cache permissions
// without it (a different mode, uid or gid is a different cache; a cache
// given none stays id-only). BuildKit mounts /cache of that base; kiln
// mounts the directory itself, made with those permissions.
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
	o.storeID = o.id
	o.keyOptions = []string{"mode=" + strconv.FormatUint(o.mode, 8),
		"uid=" + strconv.FormatUint(o.uid, 10), "gid=" + strconv.FormatUint(o.gid, 10)}
	// With source=, BuildKit ignores mode, uid and gid (setCacheUIDGID is
	// not applied): the cache is made as without them.
	o.permsSet = (m.Mode != nil || m.UID != nil || m.GID != nil) && o.source == "/"
	if !o.permsSet {
		o.mode, o.uid, o.gid = 0o755, 0, 0
	}
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
		if o.permsSet {
			o.storeID = o.id + ":" + permsIdentity(o).Encoded()
		}
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

// permsIdentity names the base BuildKit gives a cache without from= but
// with mode=, uid= or gid=: scratch with /cache made with them (the unset
// ones default to 0755, 0 and 0, so mode=0755 alone is uid=0 alone).
func permsIdentity(o *cacheOptions) digest.Digest {
	return digest.FromString(fmt.Sprintf("mkdir /cache mode=%o uid=%d gid=%d", o.mode, o.uid, o.gid))
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
	dir, release, err := e.shareCacheDir(ctx, dir, o)
	if err != nil {
		return "", nil, err
	}
	if o.seed != nil {
		if err := e.seedCacheDir(ctx, dir, o); err != nil {
			release()
			return "", nil, err
		}
		dir = filepath.Join(dir, seededDir)
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

// shareCacheDir applies sharing= with flock (so across kiln processes too):
// shared users hold a shared lock and run together; locked waits for an
// exclusive one, so it never runs beside a shared user, as in BuildKit where
// a cache in shared use counts as busy; private uses the directory when no
// one holds it, else the first free instance of the cache, else a new one
// (see privateInstance).
func (e *Env) shareCacheDir(ctx context.Context, dir string, o *cacheOptions) (string, func(), error) {
	how := syscall.LOCK_EX
	switch o.sharing {
	case string(instructions.MountSharingShared):
		how = syscall.LOCK_SH
	case string(instructions.MountSharingPrivate):
		unlock, ok, err := tryLockDir(dir)
		if err != nil {
			return "", nil, err
		}
		if ok {
			return dir, unlock, nil
		}
		return e.privateInstance(o)
	}
	for {
		unlock, ok, err := tryFlock(dir, how)
		if err != nil || ok {
			return dir, unlock, err
		}
		select {
		case <-ctx.Done():
			return "", nil, ctx.Err()
		case <-after(50):
		}
	}
}

// privateInstance is sharing=private when the cache's directory is in use.
// Like BuildKit (getRefCacheDirNoCache: reuse any instance of the cache
// that is not locked, else create a new one, which is kept), the store
// keeps extra instances beside the directory, <dir>.private-1, -2, ...
// (store.CacheMountPath), each with its own lock: the first free one is
// used, else a new one is made, fresh (empty, or seeded from from=), and
// persists for later private users. Only sharing=private uses the extra
// instances; shared and locked use the directory.
func (e *Env) privateInstance(o *cacheOptions) (string, func(), error) {
	n := 1
	for ; ; n++ {
		p := e.Store.CacheMountPath(o.storeID, n)
		unlock, ok, err := tryLockDir(p)
		if errors.Is(err, fs.ErrNotExist) {
			break
		}
		if err != nil {
			return "", nil, err
		}
		if ok {
			return p, unlock, nil
		}
	}
	// All in use: make a new instance. It is made ready (and locked) under
	// a temporary name, then renamed into the first free place, so no other
	// build sees it half made.
	tmp, err := e.Store.TempDir("cache-private")
	if err != nil {
		return "", nil, err
	}
	if o.seed == nil {
		err = initCacheDir(tmp, o)
	} else {
		err = os.Chmod(tmp, 0o755) // seeded later, in c/ (seedCacheDir)
	}
	var unlock func()
	if err == nil {
		unlock, _, err = tryLockDir(tmp)
	}
	if err != nil {
		os.RemoveAll(tmp)
		return "", nil, err
	}
	for ; ; n++ {
		p := e.Store.CacheMountPath(o.storeID, n)
		err := renameNoReplace(tmp, p)
		if err == nil {
			return p, unlock, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			unlock()
			os.RemoveAll(tmp)
			return "", nil, fmt.Errorf("adding a private cache instance: %w", err)
		}
	}
}

// tryLockDir takes dir's exclusive lock if no one holds it; ok reports
// whether it did, and unlock releases it.
func tryLockDir(dir string) (unlock func(), ok bool, err error) {
	return tryFlock(dir, syscall.LOCK_EX)
}

// tryFlock is tryLockDir for a shared (LOCK_SH) or exclusive lock.
func tryFlock(dir string, how int) (unlock func(), ok bool, err error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, false, err
	}
	if err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, false, nil
		}
		return nil, false, err
	}
	return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, true, nil
}

// renameNoReplace renames old to new unless new exists (fs.ErrExist).
func renameNoReplace(old, new string) error {
	err := unix.Renameat2(unix.AT_FDCWD, old, unix.AT_FDCWD, new, unix.RENAME_NOREPLACE)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
		// No RENAME_NOREPLACE here: check, then rename (a directory would
		// replace an empty one).
		if _, err := os.Lstat(new); err == nil {
			return fs.ErrExist
		}
		return os.Rename(old, new)
	}
	if err != nil {
		return &os.LinkError{Op: "rename", Old: old, New: new, Err: err}
	}
	return nil
}
