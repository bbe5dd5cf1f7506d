package instr

import (
	"context"
	"github.com/kiln-build/kiln/internal/buildctx"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"

	"github.com/kiln-build/kiln/internal/cachekey"
	"github.com/kiln-build/kiln/internal/dockerfile"
	"github.com/kiln-build/kiln/internal/store"
)

// cacheFixture is an Env on a fresh store and a State whose from= names
// resolve to local directories (as --build-context name=DIR does).
type cacheFixture struct {
	env   *Env
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
	f := &cacheFixture{env: &Env{Store: s}, dirs: map[string]string{}}
	f.state = &State{From: func(_ context.Context, name string) (*Source, error) {
		c, err := buildctx.LoadDir(f.dirs[name])
		if err != nil {
			return nil, err
		}
		view := func(context.Context) (string, error) { return c.Root, nil }
		return &Source{Name: name, Local: &LocalDir{Context: c, View: view}}, nil
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
	df, err := dockerfile.Parse("Dockerfile", []byte("FROM scratch\nRUN --mount="+flag+" true\n"))
	if err != nil {
		return nil, err
	}
	run := df.Stages[0].Commands[0].(*instructions.RunCommand)
	if err := run.Expand(func(w string) (string, error) { return w, nil }); err != nil {
		return nil, err
	}
	m := instructions.GetMounts(run)[0]
	return f.env.cacheMount(context.Background(), f.state, m, m.Target)
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
	release2()
	if _, err := os.Stat(second); err == nil {
		t.Error("the throwaway private copy outlived its step")
	}
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
