package solver

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	digest "github.com/opencontainers/go-digest"

	"github.com/kiln-build/kiln/internal/cachekey"
	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/layer"
	"github.com/kiln-build/kiln/internal/progress"
	"github.com/kiln-build/kiln/internal/snapshot"
	"github.com/kiln-build/kiln/internal/store"
)

// The solver's semantics, as BuildKit's scheduler tests check them: with
// fake ops that count their executions and a snapshotter that keeps
// filesystems in plain directories, no root needed.

// fakeOp writes its files into the root; it counts its executions.
type fakeOp struct {
	name   string
	files  map[string]string // written by Exec; none: the op changes nothing
	linked bool
	err    error
	execs  atomic.Int32
	// gate, if set, holds Exec until it is closed.
	gate chan struct{}
}

func (o *fakeOp) Name() string { return o.name }
func (o *fakeOp) CacheKey(context.Context) (cachekey.Step, error) {
	return cachekey.Step{Op: "fake", Args: []string{o.name}}, nil
}
func (o *fakeOp) Linked() bool { return o.linked }
func (o *fakeOp) Exec(_ context.Context, a *snapshot.Active, _ *progress.Vertex) error {
	o.execs.Add(1)
	if o.gate != nil {
		<-o.gate
	}
	if o.err != nil {
		return o.err
	}
	for rel, content := range o.files {
		if err := os.WriteFile(filepath.Join(a.Root, rel), []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// dirSnapshotter is a Snapshotter of plain directories: Prepare gives an
// empty directory (the fake ops never read their parent), Commit turns what
// was written into a blob in the store.
type dirSnapshotter struct {
	snapshot.Snapshotter // the methods the solver never calls
	st                   *store.Store
	prepared, removed    atomic.Int32
}

func (d *dirSnapshotter) Prepare(context.Context, []image.Layer) (*snapshot.Active, error) {
	d.prepared.Add(1)
	dir, err := d.st.TempDir("fake")
	return &snapshot.Active{Root: dir}, err
}

func (d *dirSnapshotter) Remove(a *snapshot.Active) error {
	d.removed.Add(1)
	return os.RemoveAll(a.Root)
}

func (d *dirSnapshotter) Commit(_ context.Context, a *snapshot.Active, o layer.Options) (*image.Layer, error) {
	defer os.RemoveAll(a.Root)
	entries, err := os.ReadDir(a.Root)
	if err != nil || len(entries) == 0 {
		return nil, err
	}
	var content []string
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(a.Root, e.Name()))
		if err != nil {
			return nil, err
		}
		content = append(content, e.Name()+"="+string(data))
	}
	sort.Strings(content)
	blob := []byte(strings.Join(content, "\n"))
	d0, err := d.st.PutBlob(blob)
	if err != nil {
		return nil, err
	}
	return &image.Layer{Digest: d0, DiffID: d0, Size: int64(len(blob)), MediaType: o.MediaType()}, nil
}

type fixture struct {
	solver *Solver
	snap   *dirSnapshotter
	st     *store.Store
	rep    *progress.Reporter
}

func newFixture(t *testing.T, noCache bool) *fixture {
	t.Helper()
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rep, err := progress.New(io.Discard, "plain")
	if err != nil {
		t.Fatal(err)
	}
	snap := &dirSnapshotter{st: st}
	return &fixture{solver: New(Options{Store: st, Snap: snap, NoCache: noCache}), snap: snap, st: st, rep: rep}
}

var root = Ref{Key: digest.FromString("base"), Platform: "linux/amd64"}

func (f *fixture) solve(t *testing.T, op Op, parent Ref) Result {
	t.Helper()
	res, err := f.solver.Solve(context.Background(), Request{Op: op, Parent: parent, Log: f.rep.Start(op.Name())})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestCacheHitRunsNothing(t *testing.T) {
	f := newFixture(t, false)
	op := &fakeOp{name: "a", files: map[string]string{"a": "1"}}
	first := f.solve(t, op, root)
	second := f.solve(t, op, root)
	if n := op.execs.Load(); n != 1 {
		t.Fatalf("op ran %d times, want once", n)
	}
	if first.Cached || !second.Cached || first.Key != second.Key || first.Layer == nil || *first.Layer != *second.Layer {
		t.Errorf("first %+v, second %+v: want a miss, then a hit on the same key and layer", first, second)
	}
	if first.Step.Parent != root.Key || first.Step.Platform != root.Platform {
		t.Errorf("key %+v lacks the parent or the platform", first.Step)
	}
	// Another parent or platform is another key.
	other := root
	other.Key = digest.FromString("other base")
	if f.solve(t, op, other).Cached {
		t.Error("a step on another parent was answered from the cache")
	}
	arm := root
	arm.Platform = "linux/arm64"
	if f.solve(t, op, arm).Cached {
		t.Error("a step for another platform was answered from the cache")
	}
	if n := op.execs.Load(); n != 3 {
		t.Errorf("op ran %d times, want 3", n)
	}
}

// Identical work asked at the same time runs once; everyone gets its layer.
func TestIdenticalWorkRunsOnce(t *testing.T) {
	f := newFixture(t, false)
	op := &fakeOp{name: "shared", files: map[string]string{"x": "y"}, gate: make(chan struct{})}
	const n = 8
	results := make([]Result, n)
	// The op may finish only once every request has missed the cache, so
	// they all ask while it runs.
	var missed sync.WaitGroup
	missed.Add(n)
	f.solver.missed = missed.Done
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = f.solve(t, op, root)
		}()
	}
	missed.Wait()
	close(op.gate)
	wg.Wait()
	if got := op.execs.Load(); got != 1 {
		t.Fatalf("op ran %d times for %d identical requests, want once", got, n)
	}
	for i, r := range results {
		if r.Layer == nil || *r.Layer != *results[0].Layer {
			t.Errorf("request %d got layer %v, want %v", i, r.Layer, results[0].Layer)
		}
	}
	if recs := f.solver.Records(); len(recs) != 1 {
		t.Errorf("step log has %d entries for one key, want 1", len(recs))
	}
}

// A failed step commits nothing: the next request runs it again.
func TestFailureIsNotCached(t *testing.T) {
	f := newFixture(t, false)
	op := &fakeOp{name: "fails", err: errors.New("exit code: 1")}
	for i := 0; i < 2; i++ {
		res, err := f.solver.Solve(context.Background(), Request{Op: op, Parent: root, Log: f.rep.Start("fails")})
		if err == nil || res.Key == "" {
			t.Fatalf("run %d: err %v, key %q: want the error and the step's key", i, err, res.Key)
		}
	}
	if n := op.execs.Load(); n != 2 {
		t.Errorf("failed op ran %d times, want 2", n)
	}
	if p, r := f.snap.prepared.Load(), f.snap.removed.Load(); p != r {
		t.Errorf("%d mounts prepared, %d removed: a failed step leaks its mount", p, r)
	}
	if len(f.solver.Records()) != 0 {
		t.Error("a failed step is in the step log")
	}
}

// A step that makes no layer (an older cache's record) is cached too.
func TestEmptyChangeIsCached(t *testing.T) {
	f := newFixture(t, false)
	op := &fakeOp{name: "noop"}
	if r := f.solve(t, op, root); r.Layer != nil {
		t.Errorf("layer %+v for a step that changed nothing", r.Layer)
	}
	if r := f.solve(t, op, root); !r.Cached || r.Layer != nil {
		t.Errorf("second run %+v: want a cached hit without a layer", r)
	}
	if n := op.execs.Load(); n != 1 {
		t.Errorf("op ran %d times, want once", n)
	}
}

// --no-cache runs everything; --no-cache-filter (Request.NoCache) runs the
// step and still records it for the others.
func TestNoCache(t *testing.T) {
	f := newFixture(t, true)
	op := &fakeOp{name: "a", files: map[string]string{"a": "1"}}
	f.solve(t, op, root)
	f.solve(t, op, root)
	if n := op.execs.Load(); n != 2 {
		t.Errorf("with --no-cache the op ran %d times, want 2", n)
	}

	f = newFixture(t, false)
	op = &fakeOp{name: "b", files: map[string]string{"b": "1"}}
	f.solve(t, op, root)
	res, err := f.solver.Solve(context.Background(), Request{Op: op, Parent: root, Log: f.rep.Start("b"), NoCache: true})
	if err != nil || res.Cached {
		t.Fatalf("NoCache request: %+v, %v", res, err)
	}
	if !f.solve(t, op, root).Cached {
		t.Error("the step a NoCache request ran is not cached for the others")
	}
	if n := op.execs.Load(); n != 2 {
		t.Errorf("op ran %d times, want 2", n)
	}
}

// COPY --link: the key leaves the parent out, so the layer is reused on
// any parent.
func TestLinkedKeyIgnoresParent(t *testing.T) {
	f := newFixture(t, false)
	op := &fakeOp{name: "link", files: map[string]string{"l": "1"}, linked: true}
	other := root
	other.Key = digest.FromString("other base")
	a, b := f.solve(t, op, root), f.solve(t, op, other)
	if !b.Cached || a.Key != b.Key || a.Step.Parent != "" {
		t.Errorf("linked step: %+v then %+v; want one key without parent", a, b)
	}
}

// remoteCache is an imported cache holding one step whose blob it fetches
// into the store on demand.
type remoteCache struct {
	st      *store.Store
	key     digest.Digest
	layer   image.Layer
	blob    []byte
	fetches atomic.Int32
	memo    map[digest.Digest]digest.Digest
}

func (r *remoteCache) Lookup(key digest.Digest) (*image.Layer, bool) {
	if key != r.key {
		return nil, false
	}
	l := r.layer
	return &l, true
}
func (r *remoteCache) Has(l image.Layer) bool { return l.Digest == r.layer.Digest }
func (r *remoteCache) Fetch(context.Context, image.Layer) error {
	r.fetches.Add(1)
	_, err := r.st.PutBlob(r.blob)
	return err
}
func (r *remoteCache) LookupSource(key digest.Digest) (digest.Digest, bool) {
	d, ok := r.memo[key]
	return d, ok
}

// A step an imported cache has runs nothing; its blob is fetched only when
// asked for (EnsureBlob).
func TestRemoteCacheHit(t *testing.T) {
	f := newFixture(t, false)
	op := &fakeOp{name: "remote", files: map[string]string{"r": "1"}}
	step, _ := op.CacheKey(context.Background())
	step.Parent, step.Platform = root.Key, root.Platform
	blob := []byte("remote layer")
	rc := &remoteCache{st: f.st, key: step.Digest(), blob: blob,
		layer: image.Layer{Digest: digest.FromBytes(blob), DiffID: digest.FromBytes(blob), Size: int64(len(blob))}}
	f.solver.AddRemote(rc)
	res := f.solve(t, op, root)
	if !res.Cached || res.Layer == nil || res.Layer.Digest != rc.layer.Digest {
		t.Fatalf("result %+v: want the remote cache's layer", res)
	}
	if op.execs.Load() != 0 || rc.fetches.Load() != 0 {
		t.Errorf("execs %d, fetches %d: want neither before the blob is needed", op.execs.Load(), rc.fetches.Load())
	}
	if err := f.solver.EnsureBlob(context.Background(), *res.Layer); err != nil {
		t.Fatal(err)
	}
	if !f.st.HasBlob(rc.layer.Digest) || rc.fetches.Load() != 1 {
		t.Errorf("EnsureBlob: blob in store %v after %d fetches", f.st.HasBlob(rc.layer.Digest), rc.fetches.Load())
	}
	if err := f.solver.EnsureBlob(context.Background(), image.Layer{Digest: digest.FromString("nowhere")}); err == nil {
		t.Error("EnsureBlob of a layer no cache has succeeded")
	}
}

// Source memos: remembered ones are answered, from the store or an
// imported cache, and logged for --cache-to; --no-cache answers none.
func TestSourceMemos(t *testing.T) {
	f := newFixture(t, false)
	k1, k2, d := digest.FromString("k1"), digest.FromString("k2"), digest.FromString("content")
	if _, ok := f.solver.Source(k1); ok {
		t.Fatal("a memo nobody remembered was answered")
	}
	f.solver.RememberSource(k1, d)
	f.solver.AddRemote(&remoteCache{memo: map[digest.Digest]digest.Digest{k2: d}})
	for _, k := range []digest.Digest{k1, k2} {
		if got, ok := f.solver.Source(k); !ok || got != d {
			t.Errorf("memo %s = %s, %v; want %s", k, got, ok, d)
		}
	}
	logged := map[digest.Digest]bool{}
	for _, r := range f.solver.Records() {
		logged[r.Key] = r.Content == d
	}
	if !logged[k1] || !logged[k2] {
		t.Errorf("step log %v lacks a memo", f.solver.Records())
	}
	nc := New(Options{Store: f.st, NoCache: true})
	if _, ok := nc.Source(k1); ok {
		t.Error("--no-cache answered a stored memo")
	}
}

// An explicit SOURCE_DATE_EPOCH clamps the layers a step commits, so a
// step cached under one epoch is not the answer under another: the same
// inputs must give the same image whatever the store holds.
func TestEpochIsPartOfTheKey(t *testing.T) {
	f := newFixture(t, false)
	op := &fakeOp{name: "a", files: map[string]string{"a": "1"}}
	solveAt := func(epoch string) Result {
		t.Helper()
		s := New(Options{Store: f.st, Snap: f.snap, KeyEpoch: epoch})
		res, err := s.Solve(context.Background(), Request{Op: op, Parent: root, Log: f.rep.Start(op.Name())})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	first := solveAt("1700000000")
	if again := solveAt("1700000000"); !again.Cached || again.Key != first.Key {
		t.Errorf("the same epoch missed the cache: %+v", again)
	}
	if other := solveAt("1800000000"); other.Cached || other.Key == first.Key {
		t.Errorf("another epoch was answered from the cache: %+v", other)
	}
	if none := solveAt(""); none.Cached {
		t.Errorf("a build without an explicit epoch was answered by one with it: %+v", none)
	}
	if n := op.execs.Load(); n != 3 {
		t.Errorf("op ran %d times, want 3", n)
	}
}

// A CacheOnly solver answers what the store holds and runs nothing else:
// a miss is ErrMiss, with no execution and nothing stored.
func TestCacheOnlyRunsNothing(t *testing.T) {
	f := newFixture(t, false)
	cached := &fakeOp{name: "cached", files: map[string]string{"a": "1"}}
	f.solve(t, cached, root)
	only := New(Options{Store: f.st, Snap: f.snap, CacheOnly: true})
	res, err := only.Solve(context.Background(), Request{Op: cached, Parent: root, Log: f.rep.Start("cached")})
	if err != nil || !res.Cached || res.Layer == nil {
		t.Fatalf("a stored step: %+v, %v; want it from the cache", res, err)
	}
	missing := &fakeOp{name: "missing", files: map[string]string{"b": "2"}}
	if _, err := only.Solve(context.Background(), Request{Op: missing, Parent: root, Log: f.rep.Start("missing")}); !errors.Is(err, ErrMiss) {
		t.Fatalf("a step not stored: %v, want ErrMiss", err)
	}
	if n := missing.execs.Load(); n != 0 {
		t.Errorf("the missing step ran %d times", n)
	}
	if f.solve(t, missing, root).Cached {
		t.Error("the CacheOnly miss stored something")
	}
}
