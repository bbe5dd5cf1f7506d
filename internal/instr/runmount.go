package instr

import (
	"context"
	"fmt"
	"path"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"

	"github.com/kiln-build/kiln/internal/cachekey"
	"github.com/kiln-build/kiln/internal/executor"
)

// runMounts turns RUN --mount flags into executor mounts and the part of
// them that belongs in the cache key. Cache-mount contents never enter the key.
func (e *Env) runMounts(ctx context.Context, s *State, ms []*instructions.Mount) ([]executor.Mount, []cachekey.Mount, error) {
	var mounts []executor.Mount
	var keys []cachekey.Mount
	for _, m := range ms {
		target := m.Target
		if !path.IsAbs(target) {
			target = path.Join(s.WorkDir(), target)
		}
		switch m.Type {
		case instructions.MountTypeCache:
			if m.From != "" {
				return nil, nil, fmt.Errorf("--mount=type=cache,from= is not supported yet")
			}
			id := m.CacheID
			if id == "" {
				id = target
			}
			dir, err := e.Store.CacheMountDir(id)
			if err != nil {
				return nil, nil, err
			}
			opts := []string{"rbind"}
			if m.ReadOnly {
				opts = append(opts, "ro")
			}
			mounts = append(mounts, executor.Mount{Type: "bind", Source: dir, Destination: target, Options: opts})
			keys = append(keys, cachekey.Mount{Type: "cache", Target: target, Readonly: m.ReadOnly, Options: []string{"id=" + id}})
		default:
			return nil, nil, fmt.Errorf("RUN --mount=type=%s is not supported yet", m.Type)
		}
	}
	return mounts, keys, nil
}
