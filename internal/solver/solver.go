// Package solver is kiln's cache engine. For each step (an Op on a parent
// filesystem) it computes the cache key, looks it up in the store and then
// in the imported remote caches, runs identical work once (the same key
// asked by several stages, platforms or targets at a time), executes the op
// on a miss through the snapshotter, and commits its layer and the cache
// record. It also keeps the log of every step for --cache-to.
package solver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	digest "github.com/opencontainers/go-digest"
	"golang.org/x/sync/singleflight"

	"github.com/kiln-build/kiln/internal/cachekey"
	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/layer"
	"github.com/kiln-build/kiln/internal/progress"
	"github.com/kiln-build/kiln/internal/snapshot"
	"github.com/kiln-build/kiln/internal/store"
)

// Op is one filesystem-changing step. CacheKey says what determines its
// result, apart from its parent and platform, which the solver adds; it may
// read content (hash files) but changes nothing. Exec applies the change to
// a writable mount of the parent filesystem; it runs only on a cache miss.
type Op interface {
	Name() string // progress line: "RUN npm ci"
	CacheKey(ctx context.Context) (cachekey.Step, error)
	Exec(ctx context.Context, root *snapshot.Active, log *progress.Vertex) error
}

// Linked is an optional Op capability: COPY --link's key leaves the parent
// out, and the op is applied on an empty filesystem.
type Linked interface{ Linked() bool }

// Ref is a solved filesystem: its cache key, layers bottom first, and the
// platform every key below it is for.
type Ref struct {
	Key      digest.Digest
	Layers   []image.Layer
	Platform string // os/arch[/variant]
}

// Request is one step to solve.
type Request struct {
	Op     Op
	Parent Ref
	Log    *progress.Vertex // the step's progress line
	// NoCache runs the step even when the cache has it (--no-cache-filter).
	NoCache bool
	// OnMiss, if set, is told the full key of a step about to run
	// (--explain-cache).
	OnMiss func(key cachekey.Step)
}

// Result is a solved step.
type Result struct {
	Key    digest.Digest
	Step   cachekey.Step // the full key: parent and platform included
	Layer  *image.Layer  // nil: the step changed nothing
	Cached bool
}

// RemoteCache is an imported build cache whose layer bytes are fetched only
// when needed.
type RemoteCache interface {
	Lookup(key digest.Digest) (*image.Layer, bool)
	Has(l image.Layer) bool
	Fetch(ctx context.Context, l image.Layer) error
	// LookupSource answers a source memo (see Solver.Source).
	LookupSource(key digest.Digest) (digest.Digest, bool)
}

// Options of a solver: one per build session.
type Options struct {
	Store *store.Store
	Snap  snapshot.Snapshotter
	Layer layer.Options // how committed layers are written
	// KeyEpoch is the build's explicit SOURCE_DATE_EPOCH, part of every
	// key: Layer.Epoch clamps the committed layers' mtimes, so a layer
	// cached under another epoch is another layer. Empty when the epoch
	// was not given (then it only falls back to the git commit time, which
	// must not invalidate the cache at every commit).
	KeyEpoch string
	// NoCache trusts nothing stored: every step runs (--no-cache).
	NoCache bool
	// CacheOnly answers steps from the caches and runs none: a miss is
	// ErrMiss (a plain user's build tried outside its user namespace).
	CacheOnly bool
	// Flight, if set, is shared with the solvers of the other builds of
	// the process (bake's targets): a step several of them ask for at once
	// runs once. Unset, the solver keeps its own.
	Flight *Flight
}

// ErrMiss is a step a CacheOnly solver would have had to run.
var ErrMiss = errors.New("not in the cache")

// Flight holds steps in progress, by cache key.
type Flight = singleflight.Group

// Solver solves steps for one build session; it is safe for concurrent use.
type Solver struct {
	o      Options
	flight singleflight.Group // steps in progress, by cache key
	// missed, if set, is told when a request missed the cache and is about
	// to run or join the step (tests wait on it).
	missed func()

	mu     sync.Mutex
	remote []RemoteCache
	log    []Record
	logged map[digest.Digest]bool
}

// New returns a solver.
func New(o Options) *Solver {
	return &Solver{o: o, logged: map[digest.Digest]bool{}}
}

// AddRemote imports a remote cache (--cache-from): asked after the store.
func (s *Solver) AddRemote(r RemoteCache) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.remote = append(s.remote, r)
}

func (s *Solver) remotes() []RemoteCache {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]RemoteCache(nil), s.remote...)
}

// cacheRecord is what the store keeps for a key: the layer the step made,
// or none when it changed nothing.
type cacheRecord struct {
	Layer *image.Layer `json:"layer,omitempty"`
}

// Solve answers a step from the cache or runs it, and reports it on r.Log.
func (s *Solver) Solve(ctx context.Context, r Request) (Result, error) {
	step, err := r.Op.CacheKey(ctx)
	if err != nil {
		r.Log.Done(err)
		return Result{}, err
	}
	linked := isLinked(r.Op)
	if !linked {
		step.Parent = r.Parent.Key
	}
	step.Platform = r.Parent.Platform
	step.Epoch = s.o.KeyEpoch
	key := step.Digest()
	res := Result{Key: key, Step: step} // returned with errors too: the caller names the step
	rec, ok := s.lookup(key)
	if !ok {
		rec, ok = s.lookupRemote(key)
	}
	if ok && !r.NoCache {
		r.Log.Cached()
		res.Layer, res.Cached = rec.Layer, true
		s.record(Record{Key: key, Layer: rec.Layer})
		return res, nil
	}
	if s.o.CacheOnly {
		return res, fmt.Errorf("%s: %w", r.Op.Name(), ErrMiss)
	}
	if r.OnMiss != nil {
		r.OnMiss(step)
	}
	if s.missed != nil {
		s.missed()
	}
	l, how, err := s.run(ctx, key, linked, r)
	if err != nil {
		r.Log.Done(err)
		return res, err
	}
	res.Layer = l
	s.record(Record{Key: key, Layer: l})
	switch {
	case how.hit:
		r.Log.Cached()
		res.Cached = true
		return res, nil
	case how.shared && s.o.Flight != nil && how.ran:
		r.Log.Logf("ran once for several targets")
	case how.shared && s.o.Flight != nil:
		r.Log.Logf("done once by another target's identical step")
	case how.shared:
		r.Log.Logf("ran once for several identical steps (stages or platforms)")
	}
	r.Log.Done(nil)
	return res, nil
}

// ran says how run answered: shared with other requests, by this one
// running the flight, found in the store after all.
type ran struct{ shared, ran, hit bool }

// run executes a missed step once for everyone asking for its key at the
// time: the same step of several stages, platforms or targets (a stage on
// $BUILDPLATFORM) runs once, the others wait and share it (shared).
func (s *Solver) run(ctx context.Context, key digest.Digest, linked bool, r Request) (l *image.Layer, how ran, err error) {
	flight := s.o.Flight
	if flight == nil {
		flight = &s.flight
	}
	out, err, shared := flight.Do(key.String(), func() (any, error) {
		how.ran = true
		// Another request may have finished this step since the lookup.
		if rec, ok := s.lookup(key); ok && !r.NoCache {
			how.hit = true
			return rec.Layer, nil
		}
		base := r.Parent.Layers
		if linked {
			base = nil
		}
		l, err := s.exec(ctx, base, r)
		if err != nil {
			return nil, err
		}
		return l, s.store(key, l)
	})
	l, _ = out.(*image.Layer)
	how.shared = shared
	return l, how, err
}

func isLinked(op Op) bool {
	l, ok := op.(Linked)
	return ok && l.Linked()
}

// exec mounts the parent writable, runs the op and commits what it changed.
func (s *Solver) exec(ctx context.Context, base []image.Layer, r Request) (*image.Layer, error) {
	a, err := s.o.Snap.Prepare(ctx, base)
	if err != nil {
		return nil, err
	}
	if err := r.Op.Exec(ctx, a, r.Log); err != nil {
		s.o.Snap.Remove(a)
		return nil, err
	}
	return s.o.Snap.Commit(ctx, a, s.o.Layer)
}

func (s *Solver) lookup(key digest.Digest) (cacheRecord, bool) {
	var rec cacheRecord
	if s.o.NoCache {
		return rec, false
	}
	data, err := s.o.Store.GetCache(key)
	if err != nil || data == nil || json.Unmarshal(data, &rec) != nil {
		return rec, false
	}
	if rec.Layer != nil && (!s.o.Store.HasBlob(rec.Layer.Digest) || rec.Layer.MediaType != s.o.Layer.MediaType()) {
		return rec, false // gone, or compressed otherwise than this build asks
	}
	return rec, true
}

// lookupRemote asks the imported caches; the layer's bytes stay remote until
// a later step or the export needs them (EnsureBlob).
func (s *Solver) lookupRemote(key digest.Digest) (cacheRecord, bool) {
	if s.o.NoCache {
		return cacheRecord{}, false
	}
	for _, r := range s.remotes() {
		if l, ok := r.Lookup(key); ok {
			return cacheRecord{Layer: l}, true
		}
	}
	return cacheRecord{}, false
}

func (s *Solver) store(key digest.Digest, l *image.Layer) error {
	data, err := json.Marshal(cacheRecord{Layer: l})
	if err != nil {
		return err
	}
	return s.o.Store.PutCache(key, data)
}

// EnsureBlob makes sure a layer's blob is in the store, fetching it from an
// imported cache that has it.
func (s *Solver) EnsureBlob(ctx context.Context, l image.Layer) error {
	if s.o.Store.HasBlob(l.Digest) {
		return nil
	}
	for _, r := range s.remotes() {
		if r.Has(l) {
			return r.Fetch(ctx, l)
		}
	}
	return fmt.Errorf("layer %s is neither in the store nor in an imported cache", l.Digest)
}
