package instr

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	digest "github.com/opencontainers/go-digest"

	"github.com/kiln-build/kiln/internal/cachekey"
	"github.com/kiln-build/kiln/internal/executor"
	"github.com/kiln-build/kiln/internal/fshash"
	"github.com/kiln-build/kiln/internal/snapshot"
)

// bindMount is RUN --mount=type=bind: a path of the context, a stage or an
// image, read-only unless rw (then writes go to a throwaway overlay). Its
// content is part of the step's key.
func (e *Env) bindMount(ctx context.Context, s *State, m *instructions.Mount, target string) (*preparedMount, error) {
	source := m.Source
	if source == "" {
		source = "/"
	}
	if target == "" {
		return nil, fmt.Errorf("--mount=type=bind needs target=")
	}
	view, sum, err := e.bindSource(ctx, s, m.From, source)
	if err != nil {
		return nil, err
	}
	pm := &preparedMount{key: cachekey.Mount{Type: "bind", Target: target, Source: sum, Readonly: m.ReadOnly}}
	pm.setup = func(ctx context.Context) (*executor.Mount, func(), error) {
		root, release, err := view(ctx)
		if err != nil {
			return nil, nil, err
		}
		src, err := securejoin.SecureJoin(root, source)
		if err != nil {
			release()
			return nil, nil, err
		}
		if m.ReadOnly {
			return &executor.Mount{Type: "bind", Source: src, Destination: target, Options: []string{"rbind", "ro"}}, release, nil
		}
		rw, releaseRW, err := e.writableCopy(src)
		if err != nil {
			release()
			return nil, nil, err
		}
		return &executor.Mount{Type: "bind", Source: rw, Destination: target, Options: []string{"rbind"}},
			func() { releaseRW(); release() }, nil
	}
	return pm, nil
}

// bindSource hashes the mounted path now and returns how to mount its root later.
func (e *Env) bindSource(ctx context.Context, s *State, from, source string) (func(context.Context) (string, func(), error), digest.Digest, error) {
	if from == "" {
		sum, err := e.Context.Hash(ctx, []string{source}, nil, true)
		if err != nil {
			return nil, "", err
		}
		return func(ctx context.Context) (string, func(), error) {
			dir, err := e.StagedContext(ctx)
			return dir, func() {}, err
		}, sum, nil
	}
	src, err := s.From(ctx, from)
	if err != nil {
		return nil, "", err
	}
	if src.Local != nil {
		sum, err := src.Local.Context.Hash(ctx, []string{source}, nil, true)
		if err != nil {
			return nil, "", fmt.Errorf("--mount from=%s: %w", from, err)
		}
		return func(ctx context.Context) (string, func(), error) {
			dir, err := src.Local.View(ctx)
			return dir, func() {}, err
		}, sum, nil
	}
	m, err := e.MountImage(ctx, src.Image, "")
	if err != nil {
		return nil, "", err
	}
	sum, err := fshash.Paths(ctx, m.Root, []string{source}, fshash.Options{FollowLinks: true})
	UnmountImage(m)
	if err != nil {
		return nil, "", fmt.Errorf("--mount from=%s: %w", from, err)
	}
	return func(ctx context.Context) (string, func(), error) {
		m, err := e.MountImage(ctx, src.Image, "")
		if err != nil {
			return "", nil, err
		}
		return m.Root, func() { UnmountImage(m) }, nil
	}, sum, nil
}

// writableCopy puts an overlay over dir whose writes are thrown away.
func (e *Env) writableCopy(dir string) (string, func(), error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return "", nil, err
	}
	if !fi.IsDir() {
		return "", nil, fmt.Errorf("rw bind mounts of single files are not supported yet")
	}
	work, err := e.Store.TempDir("bind")
	if err != nil {
		return "", nil, err
	}
	target := filepath.Join(work, "merged")
	if err := os.Mkdir(target, 0o755); err != nil {
		return "", nil, err
	}
	m, err := snapshot.MountOverlay(snapshot.Options{Lowers: []string{dir}, Empty: e.Store.EmptyDir(), Target: target, WorkArea: work, Caps: e.caps()})
	if err != nil {
		os.RemoveAll(work)
		return "", nil, err
	}
	return target, func() { m.Unmount(); os.RemoveAll(work) }, nil
}

func after(ms int) <-chan time.Time { return time.After(time.Duration(ms) * time.Millisecond) }
