package session

import (
	"context"
	"path/filepath"
	"sync"

	"github.com/kiln-build/kiln/internal/buildctx"
	"github.com/kiln-build/kiln/internal/fshash"
	"github.com/kiln-build/kiln/internal/instr"
	"github.com/kiln-build/kiln/internal/layer"
	"github.com/kiln-build/kiln/internal/progress"
	"github.com/kiln-build/kiln/internal/snapshot"
	"github.com/kiln-build/kiln/internal/solver"
	"github.com/kiln-build/kiln/internal/store"
)

// Shared is what the builds of one `kiln bake` share, run concurrently in
// one process over one store: steps in progress (by cache key, so a stage
// several targets need runs once: solver.Flight), one progress display,
// and each distinct build context, loaded, hashed and staged once.
type Shared struct {
	Progress *progress.Reporter

	mu       sync.Mutex
	contexts map[contextKey]*sharedContext
	views    map[viewKey]*view
	caches   map[string]*fshash.StatCache // by context root
	flights  map[layer.Options]*solver.Flight
}

type contextKey struct{ dir, dockerfile string }

type sharedContext struct {
	once sync.Once
	bctx *buildctx.Context
	err  error
}

// view is one context's read-only view minus its ignored files, made on the
// first COPY that needs it.
type view struct {
	staged  func(context.Context) (string, error)
	cleanup func()
}

type viewKey struct{ root, ignoreFile string }

// NewShared returns the state the builds of one bake share, reporting to rep.
func NewShared(rep *progress.Reporter) *Shared {
	return &Shared{Progress: rep, contexts: map[contextKey]*sharedContext{}, views: map[viewKey]*view{}, caches: map[string]*fshash.StatCache{}, flights: map[layer.Options]*solver.Flight{}}
}

// Close removes the context views the builds made; call it after the last.
func (s *Shared) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range s.views {
		v.cleanup()
	}
}

// loadContext is buildctx.Load, once per distinct context and Dockerfile.
func (s *Shared) loadContext(dir, dockerfile string) (*buildctx.Context, error) {
	k := contextKey{dir, dockerfile}
	if abs, err := filepath.Abs(dir); err == nil {
		k.dir = abs
	}
	if dockerfile != "" {
		if abs, err := filepath.Abs(dockerfile); err == nil {
			k.dockerfile = abs
		}
	}
	s.mu.Lock()
	c := s.contexts[k]
	if c == nil {
		c = &sharedContext{}
		s.contexts[k] = c
	}
	s.mu.Unlock()
	c.once.Do(func() { c.bctx, c.err = buildctx.Load(dir, dockerfile) })
	return c.bctx, c.err
}

// attach gives a build's context the one stat cache of its directory (so
// a file several targets copy is hashed once) and returns the one view of
// the directory with its ignore rules.
func (s *Shared) attach(st *store.Store, snap snapshot.Snapshotter, bctx *buildctx.Context) func(context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cache := s.caches[bctx.Root]
	if cache == nil {
		cache = bctx.Cache
		if loaded, err := fshash.LoadStatCache(st.StatCachePath(bctx.Root)); err == nil {
			cache = loaded
		}
		s.caches[bctx.Root] = cache
	}
	if bctx.Cache != cache { // written once per context, before its first build hashes
		bctx.Cache = cache
	}
	k := viewKey{bctx.Root, bctx.IgnoreFile}
	v := s.views[k]
	if v == nil {
		v = &view{}
		v.staged, v.cleanup = instr.ContextView(st, snap, bctx)
		s.views[k] = v
	}
	return v.staged
}

// flight is the steps in progress of every build writing layers as lo says
// (the layers of two targets asking for other compressions are not alike);
// nil outside a bake: the solver keeps its own.
func (s *Shared) flight(lo layer.Options) *solver.Flight {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.flights[lo]
	if f == nil {
		f = &solver.Flight{}
		s.flights[lo] = f
	}
	return f
}
