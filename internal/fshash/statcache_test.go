package fshash

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// skipRacy moves the clock past the racy-clean window for one test.
func skipRacy(t *testing.T) {
	t.Helper()
	now = func() time.Time { return time.Now().Add(2 * time.Second) }
	t.Cleanup(func() { now = time.Now })
}

func TestStatCacheAvoidsReads(t *testing.T) {
	skipRacy(t)
	reads := countReads(t)
	root := t.TempDir()
	writeTree(t, root, baseTree)
	opts := baseOpts()
	opts.Cache = NewStatCache()
	first := mustHash(t, root, []string{"."}, opts)
	if reads.Load() == 0 {
		t.Fatal("first run read nothing")
	}

	reads.Store(0)
	if mustHash(t, root, []string{"."}, opts) != first {
		t.Fatal("cached digest differs")
	}
	if n := reads.Load(); n != 0 {
		t.Fatalf("second run read %d files, want 0", n)
	}

	// Same size, mtime restored: ctime still moves, so it is re-read.
	write(t, root, "app/main.go", "package maim")
	if mustHash(t, root, []string{"."}, opts) == first {
		t.Fatal("same-size edit with preserved mtime not detected")
	}
	if n := reads.Load(); n != 1 {
		t.Fatalf("after one edit read %d files, want 1", n)
	}
}

func TestStatCacheRacilyClean(t *testing.T) {
	reads := countReads(t)
	root := t.TempDir()
	writeTree(t, root, map[string]string{"f": "fresh"})
	opts := Options{Cache: NewStatCache()}
	mustHash(t, root, []string{"f"}, opts)
	reads.Store(0)
	mustHash(t, root, []string{"f"}, opts)
	if reads.Load() != 1 {
		t.Fatalf("a file modified in the second it was hashed must be re-read; reads = %d", reads.Load())
	}
}

func TestStatCacheSaveLoad(t *testing.T) {
	skipRacy(t)
	reads := countReads(t)
	root := t.TempDir()
	writeTree(t, root, baseTree)
	file := filepath.Join(t.TempDir(), "statcache")

	c, err := LoadStatCache(file)
	if err != nil || c.Len() != 0 {
		t.Fatalf("missing file: %v, %d entries", err, c.Len())
	}
	want := mustHash(t, root, []string{"."}, Options{Cache: c})
	if err := c.Save(file); err != nil {
		t.Fatal(err)
	}
	c2, err := LoadStatCache(file)
	if err != nil {
		t.Fatal(err)
	}
	reads.Store(0)
	if mustHash(t, root, []string{"."}, Options{Cache: c2}) != want || reads.Load() != 0 {
		t.Fatalf("loaded cache: reads = %d", reads.Load())
	}

	if err := os.WriteFile(file, []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	c3, err := LoadStatCache(file)
	if err != nil || c3.Len() != 0 {
		t.Fatalf("corrupt file: %v, %d entries", err, c3.Len())
	}
}

func TestStatCacheConcurrent(t *testing.T) {
	skipRacy(t)
	root := t.TempDir()
	writeTree(t, root, baseTree)
	c := NewStatCache()
	want := mustHash(t, root, []string{"."}, Options{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			d, err := Paths(context.Background(), root, []string{"."}, Options{Cache: c})
			if err != nil || d != want {
				t.Errorf("concurrent Paths = %s, %v", d, err)
			}
		})
	}
	wg.Wait()
	if err := c.Save(filepath.Join(t.TempDir(), "c")); err != nil {
		t.Fatal(err)
	}
}

// Owners maps what is hashed and cached: a tree owned by 1234 hashed as if
// owned by root is root's digest, and a cache filled with the mapping
// vouches for the files when the same mapping asks again.
func TestOwnersMapHashAndCache(t *testing.T) {
	skipRacy(t)
	root := t.TempDir()
	writeTree(t, root, baseTree)
	plain := mustHash(t, root, []string{"app"}, baseOpts())
	for _, name := range []string{"app", "app/main.go", "app/sub", "app/sub/data", "app/sub/link"} {
		chown(t, root, name, 1234, 1234)
	}
	if mustHash(t, root, []string{"app"}, baseOpts()) == plain {
		t.Fatal("owners do not enter the digest")
	}
	opts := baseOpts()
	opts.Cache = NewStatCache()
	opts.Owners = func(uid, gid uint32) (uint32, uint32) {
		if uid == 1234 {
			uid, gid = 0, 0
		}
		return uid, gid
	}
	if got := mustHash(t, root, []string{"app"}, opts); got != plain {
		t.Fatalf("mapped digest %s, want root's %s", got, plain)
	}
	reads := countReads(t)
	if mustHash(t, root, []string{"app"}, opts) != plain {
		t.Fatal("cached mapped digest differs")
	}
	if n := reads.Load(); n != 0 {
		t.Fatalf("second mapped run read %d files, want 0", n)
	}
}
