package build

import (
	"context"
	"path/filepath"
	"sync"

	"golang.org/x/sync/singleflight"

	"github.com/kiln-build/kiln/internal/buildctx"
	"github.com/kiln-build/kiln/internal/fshash"
	"github.com/kiln-build/kiln/internal/progress"
	"github.com/kiln-build/kiln/internal/store"
)

// Shared is what the builds of one `kiln bake` share, run concurrently in
// one process over one store: steps in progress (by cache key, so a stage
// several targets need runs once), one progress display, and each
// distinct build context, loaded, hashed and staged once.
type Shared struct {
	Progress *progress.Reporter
	flight   singleflight.Group

	mu       sync.Mutex
	contexts map[contextKey]*sharedContext
}

type contextKey struct{ dir, dockerfile string }

type sharedContext struct {
	once    sync.Once
	bctx    *buildctx.Context
	err     error
	cacheOK bool // the stat cache was read from the store
	staged  func(context.Context) (string, error)
	cleanup func()
}

// NewShared returns the state the builds of one bake share, reporting to rep.
func NewShared(rep *progress.Reporter) *Shared {
	return &Shared{Progress: rep, contexts: map[contextKey]*sharedContext{}}
}

// Close removes the context views the builds made; call it after the last.
func (s *Shared) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.contexts {
		if c.cleanup != nil {
			c.cleanup()
		}
	}
}

func (s *Shared) entry(dir, dockerfile string) *sharedContext {
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
	defer s.mu.Unlock()
	c := s.contexts[k]
	if c == nil {
		c = &sharedContext{}
		s.contexts[k] = c
	}
	return c
}

// loadContext is buildctx.Load, once per distinct context and Dockerfile.
func (s *Shared) loadContext(dir, dockerfile string) (*buildctx.Context, error) {
	c := s.entry(dir, dockerfile)
	c.once.Do(func() { c.bctx, c.err = buildctx.Load(dir, dockerfile) })
	return c.bctx, c.err
}

// attach gives env the context's one staged view and stat cache.
func (s *Shared) attach(st *store.Store, bctx *buildctx.Context, dir, dockerfile string) func(context.Context) (string, error) {
	c := s.entry(dir, dockerfile)
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.staged == nil {
		c.staged, c.cleanup = stageOnce(st, bctx)
	}
	if !c.cacheOK {
		c.cacheOK = true
		if cache, err := fshash.LoadStatCache(st.StatCachePath(bctx.Root)); err == nil {
			bctx.Cache = cache
		}
	}
	return c.staged
}
