package snapshot

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kiln-build/kiln/internal/store"
)

// Sharing modes of a cache mount, as BuildKit's sharing=.
const (
	SharingShared  = "shared"
	SharingPrivate = "private"
	SharingLocked  = "locked"
)

// seededDir is the directory, inside a seeded cache's store directory, that
// holds the cache: it appears whole (by rename) once seeded.
const seededDir = "c"

// lockPoll is how often a locked cache mount asks for its lock again.
const lockPoll = 50 * time.Millisecond

// cacheDirs keeps the cache mounts' directories in the store; any
// implementation can hold one.
type cacheDirs struct {
	store *store.Store
}

// CacheDir returns the cache directory to mount, after sharing= is applied,
// and how to release it.
func (c cacheDirs) CacheDir(ctx context.Context, r CacheRequest) (string, func(), error) {
	dir, created, err := c.store.CacheMountDir(r.ID)
	if err != nil {
		return "", nil, err
	}
	if r.Seed == nil && created {
		if err := initCacheDir(dir, r); err != nil {
			return "", nil, err
		}
	}
	dir, release, err := c.share(ctx, dir, r)
	if err != nil {
		return "", nil, err
	}
	if r.Seed != nil {
		if err := seed(ctx, dir, r); err != nil {
			release()
			return "", nil, err
		}
		dir = filepath.Join(dir, seededDir)
	}
	return dir, release, nil
}

// initCacheDir gives a new cache directory its mode and owner.
func initCacheDir(dir string, r CacheRequest) error {
	if err := os.Chmod(dir, r.Mode); err != nil {
		return err
	}
	return os.Chown(dir, r.UID, r.GID)
}

// seed fills dir/c from the seed unless it is there already. The copy is
// made beside it and renamed into place, so a crash or a concurrent build
// never leaves a half-seeded cache.
func seed(ctx context.Context, dir string, r CacheRequest) error {
	dst := filepath.Join(dir, seededDir)
	if _, err := os.Lstat(dst); err == nil {
		return nil
	}
	tmp, err := os.MkdirTemp(dir, ".seed-")
	if err != nil {
		return fmt.Errorf("seeding cache mount: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := r.Seed(ctx, filepath.Join(tmp, seededDir)); err != nil {
		return err
	}
	err = os.Rename(filepath.Join(tmp, seededDir), dst)
	if err != nil && (errors.Is(err, fs.ErrExist) || errors.Is(err, syscall.ENOTEMPTY)) {
		return nil // another build seeded it first
	}
	return err
}

// share applies sharing= with flock (so across kiln processes too): shared
// users hold a shared lock and run together; locked waits for an exclusive
// one, so it never runs beside a shared user, as in BuildKit where a cache
// in shared use counts as busy; private uses the directory when no one
// holds it, else the first free instance of the cache, else a new one (see
// privateInstance).
func (c cacheDirs) share(ctx context.Context, dir string, r CacheRequest) (string, func(), error) {
	how := syscall.LOCK_EX
	switch r.Sharing {
	case SharingShared:
		how = syscall.LOCK_SH
	case SharingPrivate:
		unlock, ok, err := tryLockDir(dir)
		if err != nil {
			return "", nil, err
		}
		if ok {
			return dir, unlock, nil
		}
		return c.privateInstance(r)
	}
	for {
		unlock, ok, err := tryFlock(dir, how)
		if err != nil || ok {
			return dir, unlock, err
		}
		select {
		case <-ctx.Done():
			return "", nil, ctx.Err()
		case <-time.After(lockPoll):
		}
	}
}

// privateInstance is sharing=private when the cache's directory is in use.
// Like BuildKit (getRefCacheDirNoCache: reuse any instance of the cache
// that is not locked, else create a new one, which is kept), the store
// keeps extra instances beside the directory, <dir>.private-1, -2, ...
// (store.CacheMountPath), each with its own lock: the first free one is
// used, else a new one is made, fresh (empty, or seeded), and persists for
// later private users. Only sharing=private uses the extra instances;
// shared and locked use the directory.
func (c cacheDirs) privateInstance(r CacheRequest) (string, func(), error) {
	n := 1
	for ; ; n++ {
		p := c.store.CacheMountPath(r.ID, n)
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
	tmp, err := c.store.TempDir("cache-private")
	if err != nil {
		return "", nil, err
	}
	if r.Seed == nil {
		err = initCacheDir(tmp, r)
	} else {
		err = os.Chmod(tmp, 0o755) // seeded later, in c/ (seed)
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
		p := c.store.CacheMountPath(r.ID, n)
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
