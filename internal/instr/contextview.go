package instr

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/kiln-build/kiln/internal/buildctx"
	"github.com/kiln-build/kiln/internal/snapshot"
	"github.com/kiln-build/kiln/internal/store"
)

// ContextView makes, the first time a COPY needs it, a read-only view of the
// context minus ignored files: an overlay of whiteouts over the context
// itself (nothing copied, the context's inodes untouched), or a staged copy
// where overlayfs refuses the context's filesystem. cleanup removes it.
func ContextView(st *store.Store, snap snapshot.Snapshotter, bctx *buildctx.Context) (func(context.Context) (string, error), func()) {
	var once sync.Once
	var view string
	var release func()
	var err error
	cleanup := func() {
		once.Do(func() {}) // no staging may start after cleanup
		if release != nil {
			release()
		}
	}
	return func(ctx context.Context) (string, error) {
		once.Do(func() {
			view, release, err = contextView(ctx, st, snap, bctx)
		})
		return view, err
	}, cleanup
}

func contextView(ctx context.Context, st *store.Store, snap snapshot.Snapshotter, bctx *buildctx.Context) (string, func(), error) {
	tmp, err := st.TempDir("context")
	if err != nil {
		return "", nil, err
	}
	wh := filepath.Join(tmp, "wh")
	if err := bctx.Whiteouts(ctx, wh); err != nil {
		os.RemoveAll(tmp)
		return "", nil, err
	}
	v, err := snap.ViewDirs(ctx, []string{wh, bctx.Root})
	if err == nil {
		return v.Root, func() { v.Close(); os.RemoveAll(tmp) }, nil
	}
	staged := filepath.Join(tmp, "staged")
	if err := bctx.Stage(ctx, staged); err != nil {
		os.RemoveAll(tmp)
		return "", nil, err
	}
	return staged, func() { os.RemoveAll(tmp) }, nil
}

// LocalContexts loads every directory --build-context with its own
// .dockerignore and stat cache; each gets a read-only view, made the first
// time a step reads it and removed by the returned release.
func LocalContexts(st *store.Store, snap snapshot.Snapshotter, contexts map[string]string) (map[string]*LocalDir, func(), error) {
	locals := map[string]*LocalDir{}
	var releases []func()
	release := func() {
		for _, r := range releases {
			r()
		}
	}
	for name, value := range contexts {
		if strings.Contains(value, "://") {
			continue
		}
		c, err := buildctx.LoadDir(value)
		if err != nil {
			release()
			return nil, nil, err
		}
		view, cleanup := ContextView(st, snap, c)
		releases = append(releases, cleanup)
		locals[name] = &LocalDir{Context: c, View: view}
	}
	return locals, release, nil
}
