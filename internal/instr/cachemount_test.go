package instr

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kiln-build/kiln/internal/buildctx"
	"github.com/kiln-build/kiln/internal/snapshot"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	digest "github.com/opencontainers/go-digest"

	"github.com/kiln-build/kiln/internal/cachekey"
	"github.com/kiln-build/kiln/internal/dockerfile"
	"github.com/kiln-build/kiln/internal/store"
)

// cacheFixture is a Worker on a fresh store and a State whose from= names
// resolve to local directories (as --build-context name=DIR does).
type cacheFixture struct {
	env   *Worker
	state *State
	dirs  map[string]string
}

func newCacheFixture(t *testing.T) *cacheFixture {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("cache mounts chown their directories: needs root")
	}
	s, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	f := &cacheFixture{env: &Worker{Store: s, Snap: snapshot.NewOverlay(s, nil)}, dirs: map[string]string{}}
	f.state = &State{From: func(_ context.Context, name string) (*Named, error) {
		c, err := buildctx.LoadDir(f.dirs[name])
		if err != nil {
			return nil, err
		}
		view := func(context.Context) (string, error) { return c.Root, nil }
		return &Named{Name: name, Local: &LocalDir{Context: c, View: view}}, nil
	}}
	return f
}

// mount parses one --mount flag value and prepares it.
func (f *cacheFixture) mount(t *testing.T, flag string) *preparedMount {
	t.Helper()
	pm, err := f.prepare(flag)
	if err != nil {
		t.Fatalf("--mount=%s: %v", flag, err)
	}
	return pm
}

func (f *cacheFixture) prepare(flag string) (*preparedMount, error) {
	m, err := parseMount(flag)
	if err != nil {
		return nil, err
	}
	return f.env.cacheMount(context.Background(), f.state, m, m.Target)
}

// parseMount parses one --mount flag value as a RUN's.
func parseMount(flag string) (*instructions.Mount, error) {
	df, err := dockerfile.Parse("Dockerfile", []byte("FROM scratch\nRUN --mount="+flag+" true\n"))
	if err != nil {
		return nil, err
	}
	run := df.Stages[0].Commands[0].(*instructions.RunCommand)
	if err := run.Expand(func(w string) (string, error) { return w, nil }); err != nil {
		return nil, err
	}
	return instructions.GetMounts(run)[0], nil
}

// setup mounts pm the way a running step does and returns the host
// directory bound at the target.
func setup(t *testing.T, pm *preparedMount) (string, func()) {
	t.Helper()
	m, release, err := pm.setup(context.Background())
	if err != nil {
		t.Fatalf("setting up the cache mount: %v", err)
	}
	return m.Source, release
}

func TestCacheMountFromSeedsAndPersists(t *testing.T) {
	f := newCacheFixture(t)
	base := t.TempDir()
	writeTestFile(t, filepath.Join(base, "deps", "a.txt"), "seeded")
	writeTestFile(t, filepath.Join(base, "other"), "not seeded")
	f.dirs["deps"] = base

	flag := "type=cache,target=/root/.npm,from=deps,source=/deps"
	dir, release := setup(t, f.mount(t, flag))
	if got := readTestFile(t, filepath.Join(dir, "a.txt")); got != "seeded" {
		t.Fatalf("a.txt = %q, want the from= stage's source content", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "other")); err == nil {
		t.Fatal("the cache holds a file outside source=")
	}
	writeTestFile(t, filepath.Join(dir, "written"), "by build 1")
	release()

	// The next use sees the first one's writes, and the base is untouched.
	dir, release = setup(t, f.mount(t, flag))
	defer release()
	if got := readTestFile(t, filepath.Join(dir, "written")); got != "by build 1" {
		t.Fatalf("written = %q, want the earlier write", got)
	}
	if _, err := os.Stat(filepath.Join(base, "deps", "written")); err == nil {
		t.Fatal("a write to the cache reached the from= source")
	}

	// A different from= content is a different cache (BuildKit keys the
	// cache by id and the from= reference).
	writeTestFile(t, filepath.Join(base, "deps", "a.txt"), "changed")
	dir2, release2 := setup(t, f.mount(t, flag))
	defer release2()
	if dir2 == dir {
		t.Fatal("a changed from= source mounted the same cache")
	}
	if got := readTestFile(t, filepath.Join(dir2, "a.txt")); got != "changed" {
		t.Fatalf("a.txt = %q in the new cache, want changed", got)
	}
	if _, err := os.Stat(filepath.Join(dir2, "written")); err == nil {
		t.Fatal("the new cache holds the old cache's write")
	}
}

func TestCacheMountFromKeepsOwners(t *testing.T) {
	f := newCacheFixture(t)
	base := t.TempDir()
	p := filepath.Join(base, "c", "f")
	writeTestFile(t, p, "x")
	for _, q := range []string{p, filepath.Dir(p)} {
		if err := os.Chown(q, 1234, 5678); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Dir(p), 0o751); err != nil {
		t.Fatal(err)
	}
	f.dirs["b"] = base
	dir, release := setup(t, f.mount(t, "type=cache,target=/c,from=b,source=c"))
	defer release()
	for _, q := range []string{dir, filepath.Join(dir, "f")} {
		st := statT(t, q)
		if st.Uid != 1234 || st.Gid != 5678 {
			t.Errorf("%s owned by %d:%d, want 1234:5678 as in the source", q, st.Uid, st.Gid)
		}
	}
	if mode := statT(t, dir).Mode & 0o7777; mode != 0o751 {
		t.Errorf("cache root mode %o, want the source's 751", mode)
	}
}

// With mode/uid/gid and no source=, BuildKit mounts the base's /cache,
// made with those permissions when the base has none.
func TestCacheMountFromWithPermsMountsSlashCache(t *testing.T) {
	f := newCacheFixture(t)
	base := t.TempDir()
	writeTestFile(t, filepath.Join(base, "root-file"), "x")
	f.dirs["b"] = base
	dir, release := setup(t, f.mount(t, "type=cache,target=/c,from=b,uid=1000,gid=1001,mode=0750"))
	defer release()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("cache holds %v, want an empty new /cache", entries)
	}
	st := statT(t, dir)
	if st.Uid != 1000 || st.Gid != 1001 || st.Mode&0o7777 != 0o750 {
		t.Errorf("cache root %d:%d %o, want 1000:1001 750", st.Uid, st.Gid, st.Mode&0o7777)
	}
}

func TestCacheMountSourceWithoutFrom(t *testing.T) {
	f := newCacheFixture(t)
	id := "type=cache,id=shared-src,target=/c"
	dir, release := setup(t, f.mount(t, id))
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, filepath.Join(dir, "sub", "f"), "in sub")
	release()

	sub, release := setup(t, f.mount(t, id+",source=sub"))
	release()
	if got := readTestFile(t, filepath.Join(sub, "f")); got != "in sub" {
		t.Fatalf("source=sub mounted %s holding %q", sub, got)
	}
	pm := f.mount(t, id+",source=missing")
	if _, _, err := pm.setup(context.Background()); err == nil || !strings.Contains(err.Error(), "source=/missing") {
		t.Fatalf("source= naming no directory of the cache: err %v", err)
	}
}

func TestCacheMountPrivateCopyIsSeeded(t *testing.T) {
	f := newCacheFixture(t)
	base := t.TempDir()
	writeTestFile(t, filepath.Join(base, "s", "f"), "seed")
	f.dirs["b"] = base
	flag := "type=cache,target=/c,from=b,source=s,sharing=private"
	first, release1 := setup(t, f.mount(t, flag))
	defer release1()
	second, release2 := setup(t, f.mount(t, flag))
	if second == first {
		t.Fatal("two private users got the same directory")
	}
	if got := readTestFile(t, filepath.Join(second, "f")); got != "seed" {
		t.Errorf("the second private user's cache holds %q, want the seed", got)
	}
	writeTestFile(t, filepath.Join(second, "w"), "second")
	release2()

	// BuildKit keeps the new instance: the next private user, while the
	// first still holds its own, gets it back with its content.
	third, release3 := setup(t, f.mount(t, flag))
	defer release3()
	if third != second {
		t.Fatalf("a free private instance was not reused: got %s, want %s", third, second)
	}
	if got := readTestFile(t, filepath.Join(third, "w")); got != "second" {
		t.Errorf("the reused private instance holds %q, want the earlier write", got)
	}
}

// sharing=private with the cache in use makes another instance that
// persists in the store, and reuses free ones, the main directory first.
func TestCacheMountPrivateInstancesPersist(t *testing.T) {
	f := newCacheFixture(t)
	flag := "type=cache,id=p,target=/c,sharing=private,uid=1000,mode=0700"
	mainDir := f.storeDir(t, flag, 0)
	extra := func(n int) string { return f.storeDir(t, flag, n) }

	d0, r0 := setup(t, f.mount(t, flag))
	d1, r1 := setup(t, f.mount(t, flag))
	d2, r2 := setup(t, f.mount(t, flag))
	if d0 != mainDir || d1 != extra(1) || d2 != extra(2) {
		t.Fatalf("three private users got %s %s %s, want the cache and two extra instances %s %s %s",
			d0, d1, d2, mainDir, extra(1), extra(2))
	}
	for _, d := range []string{d1, d2} {
		// A new instance is made as the cache is: with its mode and owner.
		if st := statT(t, d); st.Uid != 1000 || st.Gid != 0 || st.Mode&0o7777 != 0o700 {
			t.Errorf("%s is %d:%d %o, want 1000:0 700", d, st.Uid, st.Gid, st.Mode&0o7777)
		}
	}
	writeTestFile(t, filepath.Join(d1, "one"), "1")
	r1()

	// The first free instance is reused, with what was written to it.
	d, r := setup(t, f.mount(t, flag))
	if d != d1 || readTestFile(t, filepath.Join(d, "one")) != "1" {
		t.Fatalf("private user got %s, want the free instance %s with its content", d, d1)
	}
	r()
	r0()
	r2()
	d, r = setup(t, f.mount(t, flag))
	r()
	if d != mainDir {
		t.Errorf("with all free, private got %s, want the cache's directory %s", d, mainDir)
	}

	// The instances are in the store: du counts them, prune --all removes them.
	u, err := f.env.Store.DiskUsage()
	if err != nil {
		t.Fatal(err)
	}
	if u.CacheMounts < 1 {
		t.Errorf("du counts %d bytes of cache mounts, want the private instance's file", u.CacheMounts)
	}
	rep, err := f.env.Store.Prune(store.PruneOptions{All: true}, func() (map[digest.Digest]bool, error) {
		return map[digest.Digest]bool{}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.CacheMounts != 3 {
		t.Errorf("prune --all removed %d cache mount directories, want 3", rep.CacheMounts)
	}
	for _, p := range []string{mainDir, extra(1), extra(2)} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s outlived prune --all", p)
		}
	}
}

// Concurrent private users each get their own instance, and no more
// instances are made than were in use at once.
func TestCacheMountPrivateConcurrent(t *testing.T) {
	f := newCacheFixture(t)
	flag := "type=cache,id=pc,target=/c,sharing=private"
	const n = 8
	dirs := make([]string, n)
	releases := make([]func(), n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, release, err := f.mount(t, flag).setup(context.Background())
			if err != nil {
				t.Error(err)
				return
			}
			dirs[i], releases[i] = m.Source, release
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for i, d := range dirs {
		if releases[i] == nil {
			t.FailNow()
		}
		if seen[d] {
			t.Errorf("two concurrent private users got %s", d)
		}
		seen[d] = true
		releases[i]()
	}
	for i := range n {
		if !seen[f.storeDir(t, flag, i)] {
			t.Errorf("instance %d (%s) was not used", i, f.storeDir(t, flag, i))
		}
	}
	if _, err := os.Stat(f.storeDir(t, flag, n)); err == nil {
		t.Errorf("more instances than concurrent users")
	}
}

// Without from=, BuildKit's cache identity is the id plus the base made
// for mode=, uid= and gid= (scratch with /cache): different permissions
// are different caches, and a cache given none is keyed by its id alone.
func TestCacheMountPermsAreTheCacheIdentity(t *testing.T) {
	f := newCacheFixture(t)
	dirOf := func(flag string) string {
		t.Helper()
		d, release := setup(t, f.mount(t, flag))
		release()
		return d
	}
	plain := dirOf("type=cache,id=x,target=/c")
	if want := f.env.Store.CacheMountPath("x", 0); plain != want {
		t.Errorf("cache without mode/uid/gid at %s, want the id-only %s (existing caches stay valid)", plain, want)
	}
	writeTestFile(t, filepath.Join(plain, "plain"), "p")
	distinct := map[string]string{plain: "no permissions"}
	for _, flag := range []string{
		"type=cache,id=x,target=/c,uid=1000",
		"type=cache,id=x,target=/c,uid=1001",
		"type=cache,id=x,target=/c,gid=1000",
		"type=cache,id=x,target=/c,mode=0700",
		"type=cache,id=x,target=/c,mode=0755",
	} {
		d := dirOf(flag)
		if other, ok := distinct[d]; ok {
			t.Errorf("%s mounted the same cache as %s", flag, other)
		}
		distinct[d] = flag
		if _, err := os.Stat(filepath.Join(d, "plain")); err == nil {
			t.Errorf("%s sees the cache made without permissions", flag)
		}
	}
	// The unset ones default as in BuildKit's setCacheUIDGID: the same
	// /cache base, so the same cache.
	if a, b := dirOf("type=cache,id=x,target=/c,mode=0755"), dirOf("type=cache,id=x,target=/c,uid=0,gid=0"); a != b {
		t.Errorf("mode=0755 and uid=0,gid=0 (the same base) are different caches: %s %s", a, b)
	}
	// Each is made with its own permissions, and keeps its content.
	d := dirOf("type=cache,id=x,target=/c,uid=1001,gid=1002,mode=0750")
	if st := statT(t, d); st.Uid != 1001 || st.Gid != 1002 || st.Mode&0o7777 != 0o750 {
		t.Errorf("cache %d:%d %o, want 1001:1002 750", st.Uid, st.Gid, st.Mode&0o7777)
	}
	writeTestFile(t, filepath.Join(d, "kept"), "k")
	if got := readTestFile(t, filepath.Join(dirOf("type=cache,id=x,target=/other,mode=0750,gid=1002,uid=1001"), "kept")); got != "k" {
		t.Errorf("the same id and permissions at another target hold %q, want the earlier write", got)
	}

	// With source=, BuildKit ignores them: the id-only cache, as made
	// without them.
	if err := os.Mkdir(filepath.Join(plain, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got := dirOf("type=cache,id=x,target=/c,source=sub,uid=1000,mode=0700"); got != filepath.Join(plain, "sub") {
		t.Errorf("source= with uid/mode mounted %s, want the id-only cache's sub", got)
	}
	sub := f.mount(t, "type=cache,id=z,target=/c,source=s,uid=1000,mode=0700")
	if _, _, err := sub.setup(context.Background()); err == nil {
		t.Fatal("source=s of a new cache: want an error, the cache is empty")
	}
	if st := statT(t, f.env.Store.CacheMountPath("z", 0)); st.Uid != 0 || st.Mode&0o7777 != 0o755 {
		t.Errorf("cache made by a source= mount is %d %o, want 0 755 (mode/uid ignored)", st.Uid, st.Mode&0o7777)
	}
}

// storeDir is where the store keeps instance n of flag's cache.
func (f *cacheFixture) storeDir(t *testing.T, flag string, n int) string {
	t.Helper()
	o, err := f.options(flag)
	if err != nil {
		t.Fatal(err)
	}
	return f.env.Store.CacheMountPath(o.storeID, n)
}

func (f *cacheFixture) options(flag string) (*cacheOptions, error) {
	m, err := parseMount(flag)
	if err != nil {
		return nil, err
	}
	return f.env.cacheOptions(context.Background(), f.state, m, m.Target)
}

// TestCacheMountKey: what enters the step's key, one input at a time.
func TestCacheMountKey(t *testing.T) {
	f := newCacheFixture(t)
	a, b := t.TempDir(), t.TempDir()
	writeTestFile(t, filepath.Join(a, "s", "f"), "a")
	writeTestFile(t, filepath.Join(b, "s", "f"), "b")
	f.dirs["a"], f.dirs["b"] = a, b
	key := func(flag string) cachekey.Mount {
		t.Helper()
		return f.mount(t, flag).key
	}
	same := func(x, y cachekey.Mount) bool { return step(x).Digest() == step(y).Digest() }
	base := "type=cache,target=/c,from=a,source=s"
	cases := []struct {
		name  string
		flag  string
		equal bool
	}{
		{"unchanged", base, true},
		{"from", "type=cache,target=/c,from=b,source=s", false},
		{"source", "type=cache,target=/c,from=a,source=s/..", false},
		{"sharing", base + ",sharing=locked", false},
		{"no from", "type=cache,target=/c,source=s", false},
		{"target", "type=cache,target=/c/,from=a,source=s", false},
	}
	for _, c := range cases {
		if got := same(key(base), key(c.flag)); got != c.equal {
			t.Errorf("%s: same key %v, want %v", c.name, got, c.equal)
		}
	}
	if !same(key(base+",id=x"), key(base+",id=y,sharing=locked")) {
		t.Errorf("an explicit id= or sharing= changed the key (BuildKit clears them)")
	}
	if k := key("type=cache,target=/c/"); !strings.Contains(strings.Join(k.Options, " "), "id=/c ") {
		t.Errorf("default id of target /c/: options %v, want id=/c (BuildKit cleans it)", k.Options)
	}

	// The cache's content never enters the key.
	before := key(base)
	dir, release := setup(t, f.mount(t, base))
	writeTestFile(t, filepath.Join(dir, "new"), "x")
	release()
	if !same(before, key(base)) {
		t.Error("a write into the cache changed the step's key")
	}
}

func step(m cachekey.Mount) cachekey.Step {
	return cachekey.Step{Op: "run", Mounts: []cachekey.Mount{m}}
}

func writeTestFile(t *testing.T, p, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readTestFile(t *testing.T, p string) string {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func statT(t *testing.T, p string) *syscall.Stat_t {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t)
}

// Shared users run together; a locked user waits until they are done, and
// a private user takes another instance meanwhile, as a cache in shared use
// counts as busy in BuildKit.
func TestCacheMountSharedCountsAsInUse(t *testing.T) {
	f := newCacheFixture(t)
	setup := func(sharing string) (string, func()) {
		m, release, err := f.mount(t, "type=cache,id=s,target=/c,sharing="+sharing).setup(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return m.Source, release
	}
	shared1, release1 := setup("shared")
	shared2, release2 := setup("shared")
	if shared1 != shared2 {
		t.Fatalf("two shared users got %s and %s", shared1, shared2)
	}
	if private, release := setup("private"); private == shared1 {
		t.Errorf("a private user got the cache in shared use")
	} else {
		release()
	}
	locked := make(chan string)
	pm := f.mount(t, "type=cache,id=s,target=/c,sharing=locked")
	go func() {
		m, release, err := pm.setup(context.Background())
		if err != nil {
			t.Error(err)
			locked <- ""
			return
		}
		release()
		locked <- m.Source
	}()
	select {
	case <-locked:
		t.Fatal("a locked user ran beside shared users")
	case <-time.After(300 * time.Millisecond):
	}
	release1()
	release2()
	select {
	case dir := <-locked:
		if dir != shared1 {
			t.Errorf("the locked user got %s, want the cache %s", dir, shared1)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the locked user still waits after the shared users left")
	}
}
