package instr

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"syscall"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"

	"github.com/kiln-build/kiln/internal/cachekey"
	"github.com/kiln-build/kiln/internal/executor"
)

// cacheMount is RUN --mount=type=cache: a directory that persists in the
// store across builds, keyed by id (default: the target).
func (e *Env) cacheMount(m *instructions.Mount, target string) (*preparedMount, error) {
	if m.From != "" || m.Source != "" {
		return nil, fmt.Errorf("--mount=type=cache with from= or source= is not supported yet")
	}
	id := m.CacheID
	if id == "" {
		id = target
	}
	sharing := string(m.CacheSharing)
	if sharing == "" {
		sharing = string(instructions.MountSharingShared)
	}
	mode, uid, gid := uint64(0o755), uint64(0), uint64(0)
	if m.Mode != nil {
		mode = *m.Mode
	}
	if m.UID != nil {
		uid = *m.UID
	}
	if m.GID != nil {
		gid = *m.GID
	}
	opts := []string{"rbind"}
	if m.ReadOnly {
		opts = append(opts, "ro")
	}
	pm := &preparedMount{
		key: cachekey.Mount{Type: "cache", Target: target, Readonly: m.ReadOnly,
			Options: []string{"id=" + id, "sharing=" + sharing, "mode=" + strconv.FormatUint(mode, 8),
				"uid=" + strconv.FormatUint(uid, 10), "gid=" + strconv.FormatUint(gid, 10)}},
	}
	pm.setup = func(ctx context.Context) (*executor.Mount, func(), error) {
		dir, created, err := e.Store.CacheMountDir(id)
		if err != nil {
			return nil, nil, err
		}
		if created {
			if err := os.Chmod(dir, os.FileMode(mode)); err != nil {
				return nil, nil, err
			}
			if err := os.Chown(dir, int(uid), int(gid)); err != nil {
				return nil, nil, err
			}
		}
		dir, release, err := e.shareCacheDir(ctx, dir, sharing)
		if err != nil {
			return nil, nil, err
		}
		return &executor.Mount{Type: "bind", Source: dir, Destination: target, Options: opts}, release, nil
	}
	return pm, nil
}

// shareCacheDir applies sharing=: shared uses the directory as is; locked
// waits for an exclusive lock (across kiln processes too); private uses the
// directory when no one else does, else a throwaway empty one.
func (e *Env) shareCacheDir(ctx context.Context, dir, sharing string) (string, func(), error) {
	if sharing == string(instructions.MountSharingShared) {
		return dir, func() {}, nil
	}
	f, err := os.Open(dir)
	if err != nil {
		return "", nil, err
	}
	unlock := func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }
	if sharing == string(instructions.MountSharingPrivate) {
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil {
			return dir, unlock, nil
		}
		f.Close()
		tmp, err := e.Store.TempDir("cache-private")
		if err != nil {
			return "", nil, err
		}
		return tmp, func() { os.RemoveAll(tmp) }, nil
	}
	for {
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err == nil {
			return dir, unlock, nil
		}
		select {
		case <-ctx.Done():
			f.Close()
			return "", nil, ctx.Err()
		case <-after(50):
		}
	}
}
