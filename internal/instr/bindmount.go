package instr

import (
	"context"
	"fmt"
	"os"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"

	"github.com/kiln-build/kiln/internal/cachekey"
	"github.com/kiln-build/kiln/internal/executor"
	"github.com/kiln-build/kiln/internal/fshash"
)

// bindMount is RUN --mount=type=bind: a path of the context, a stage or an
// image, read-only unless rw (then writes go to a throwaway overlay). Its
// content is part of the step's key.
func (e *Worker) bindMount(ctx context.Context, s *State, m *instructions.Mount, target string) (*preparedMount, error) {
	source := m.Source
	if source == "" {
		source = "/"
	}
	if target == "" {
		return nil, fmt.Errorf("--mount=type=bind needs target=")
	}
	view, err := e.bindSource(ctx, s, m.From, source)
	if err != nil {
		return nil, err
	}
	pm := &preparedMount{key: cachekey.Mount{Type: "bind", Target: target, Source: view.Digest, Readonly: m.ReadOnly}}
	pm.setup = func(ctx context.Context) (*executor.Mount, func(), error) {
		release := view.Release
		root, err := view.Root(ctx)
		if err != nil {
			release()
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
		rw, releaseRW, err := e.writableCopy(ctx, src)
		if err != nil {
			release()
			return nil, nil, err
		}
		return &executor.Mount{Type: "bind", Source: rw, Destination: target, Options: []string{"rbind"}},
			func() { releaseRW(); release() }, nil
	}
	return pm, nil
}

// bindSource hashes the mounted path now; its root is mounted only when the
// step runs, and released with the mount.
func (e *Worker) bindSource(ctx context.Context, s *State, from, source string) (Source, error) {
	if from == "" {
		sum, err := e.Context.Hash(ctx, []string{source}, nil, true)
		if err != nil {
			return Source{}, err
		}
		return dirSource(sum, e.StagedContext), nil
	}
	named, err := s.From(ctx, from)
	if err != nil {
		return Source{}, err
	}
	if named.Local != nil {
		sum, err := named.Local.Context.Hash(ctx, []string{source}, nil, true)
		if err != nil {
			return Source{}, fmt.Errorf("--mount from=%s: %w", from, err)
		}
		return dirSource(sum, named.Local.View), nil
	}
	v, err := e.Snap.View(ctx, named.Image.Layers)
	if err != nil {
		return Source{}, err
	}
	sum, err := fshash.Paths(ctx, v.Root, []string{source}, fshash.Options{FollowLinks: true})
	v.Close()
	if err != nil {
		return Source{}, fmt.Errorf("--mount from=%s: %w", from, err)
	}
	root, release := e.imageMount(named.Image)
	return Source{Digest: sum, Root: root, Release: release}, nil
}

// writableCopy mounts dir writable; its writes are thrown away.
func (e *Worker) writableCopy(ctx context.Context, dir string) (string, func(), error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return "", nil, err
	}
	if !fi.IsDir() {
		return "", nil, fmt.Errorf("rw bind mounts of single files are not supported yet")
	}
	a, err := e.Snap.PrepareDirs(ctx, []string{dir})
	if err != nil {
		return "", nil, err
	}
	return a.Root, func() { e.Snap.Remove(a) }, nil
}
