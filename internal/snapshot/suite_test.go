package snapshot

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/layer"
	"github.com/kiln-build/kiln/internal/store"
)

// The behaviour every Snapshotter owes, run against each implementation
// (as containerd's snapshotter testsuite): a new implementation adds its
// constructor to snapshotters.
var snapshotters = map[string]func(t *testing.T, st *store.Store) Snapshotter{
	"overlay": func(t *testing.T, st *store.Store) Snapshotter {
		if os.Geteuid() != 0 {
			t.Skip("overlay mounts need root")
		}
		return NewOverlay(st, nil)
	},
	"copy": func(t *testing.T, st *store.Store) Snapshotter {
		if os.Geteuid() != 0 {
			t.Skip("copies keep owners and whiteouts: they need root")
		}
		return NewCopy(st, nil)
	},
	"own-root": func(t *testing.T, st *store.Store) Snapshotter {
		if os.Geteuid() != 0 {
			t.Skip("copies keep owners and whiteouts: they need root")
		}
		o, err := NewOwnRoot(st, nil, containerRoot(t), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(o.Wait)
		return o
	},
}

func forEach(t *testing.T, test func(t *testing.T, sn Snapshotter, st *store.Store)) {
	for name, mk := range snapshotters {
		t.Run(name, func(t *testing.T) {
			st, err := store.Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			test(t, mk(t, st), st)
		})
	}
}

func write(t *testing.T, root, rel, content string) {
	t.Helper()
	p := filepath.Join(root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, root, rel string) (string, bool) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, rel))
	if errors.Is(err, fs.ErrNotExist) {
		return "", false
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(data), true
}

// commit prepares layers, lets change write, and commits.
// Paths in hide are kept out of the layer (Active.Hide).
func commit(t *testing.T, sn Snapshotter, layers []image.Layer, change func(root string), hide ...string) *image.Layer {
	t.Helper()
	ctx := context.Background()
	a, err := sn.Prepare(ctx, layers)
	if err != nil {
		t.Fatal(err)
	}
	change(a.Root)
	for _, rel := range hide {
		a.Hide(rel)
	}
	l, err := sn.Commit(ctx, a, layer.Options{Epoch: time.Unix(0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func view(t *testing.T, sn Snapshotter, layers []image.Layer) *View {
	t.Helper()
	v, err := sn.View(context.Background(), layers)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := v.Close(); err != nil {
			t.Error(err)
		}
	})
	return v
}

// A committed change is a layer in the store; views show the layers stacked,
// deletions included; a step that changed nothing commits no layer.
func TestSnapshotterLayers(t *testing.T) {
	forEach(t, func(t *testing.T, sn Snapshotter, st *store.Store) {
		l1 := commit(t, sn, nil, func(root string) {
			write(t, root, "a/keep", "1")
			write(t, root, "a/gone", "2")
			write(t, root, "opaque/old", "3")
		})
		if l1 == nil || !st.HasBlob(l1.Digest) || !st.HasLayerDir(l1.DiffID) {
			t.Fatalf("layer %+v not in the store", l1)
		}
		l2 := commit(t, sn, []image.Layer{*l1}, func(root string) {
			if err := os.Remove(filepath.Join(root, "a/gone")); err != nil {
				t.Fatal(err)
			}
			if err := os.RemoveAll(filepath.Join(root, "opaque")); err != nil {
				t.Fatal(err)
			}
			write(t, root, "opaque/new", "4")
		})
		if l2 == nil {
			t.Fatal("a change committed no layer")
		}
		v := view(t, sn, []image.Layer{*l1, *l2})
		for rel, want := range map[string]string{"a/keep": "1", "opaque/new": "4"} {
			if got, ok := read(t, v.Root, rel); !ok || got != want {
				t.Errorf("%s = %q (exists %v), want %q", rel, got, ok, want)
			}
		}
		for _, rel := range []string{"a/gone", "opaque/old"} {
			if _, ok := read(t, v.Root, rel); ok {
				t.Errorf("%s is still there after the layer that deleted it", rel)
			}
		}
		if err := os.WriteFile(filepath.Join(v.Root, "x"), nil, 0o644); err == nil && !sn.Caps().Copy {
			t.Error("a view is writable")
		}
		// An unchanged filesystem still commits a layer, an empty tar (two
		// zero blocks: the diff ID every builder gives it), as BuildKit does.
		empty := commit(t, sn, []image.Layer{*l1}, func(string) {})
		if empty == nil || empty.DiffID != emptyTarDiffID {
			t.Fatalf("an unchanged filesystem committed %+v, want the empty tar %s", empty, emptyTarDiffID)
		}
		v = view(t, sn, []image.Layer{*l1, *empty})
		if got, ok := read(t, v.Root, "a/keep"); !ok || got != "1" {
			t.Errorf("a/keep under the empty layer = %q (exists %v), want \"1\"", got, ok)
		}
	})
}

// emptyTarDiffID is the digest of a tar holding nothing.
const emptyTarDiffID = "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"

// A layer whose unpacked directory is gone is unpacked again from its blob.
func TestSnapshotterUnpacksFromBlob(t *testing.T) {
	forEach(t, func(t *testing.T, sn Snapshotter, st *store.Store) {
		l := commit(t, sn, nil, func(root string) { write(t, root, "f", "content") })
		if err := os.RemoveAll(st.LayerDir(l.DiffID)); err != nil {
			t.Fatal(err)
		}
		if got, _ := read(t, view(t, sn, []image.Layer{*l}).Root, "f"); got != "content" {
			t.Errorf("f = %q after unpacking the blob", got)
		}
	})
}

// Remove throws the changes away; PrepareDirs writes never reach the dirs.
func TestSnapshotterRemove(t *testing.T) {
	forEach(t, func(t *testing.T, sn Snapshotter, st *store.Store) {
		ctx := context.Background()
		dir := t.TempDir()
		write(t, dir, "f", "orig")
		a, err := sn.PrepareDirs(ctx, []string{dir})
		if err != nil {
			t.Fatal(err)
		}
		write(t, a.Root, "f", "changed")
		write(t, a.Root, "new", "x")
		if err := sn.Remove(a); err != nil {
			t.Fatal(err)
		}
		if got, _ := read(t, dir, "f"); got != "orig" {
			t.Errorf("f = %q in the lower dir", got)
		}
		if _, ok := read(t, dir, "new"); ok {
			t.Error("a write reached the lower dir")
		}
		if _, err := os.Stat(a.Root); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("mount point left behind: %v", err)
		}
	})
}

// Cache directories persist; a seed fills a new cache once; locked is
// exclusive and private gives a second user its own instance.
func TestSnapshotterCacheDirs(t *testing.T) {
	forEach(t, func(t *testing.T, sn Snapshotter, st *store.Store) {
		ctx := context.Background()
		r := CacheRequest{ID: "c1", Sharing: SharingShared, Mode: 0o750, UID: 12, GID: 34}
		dir, release, err := sn.CacheDir(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		write(t, dir, "kept", "1")
		var fi os.FileInfo
		if fi, err = os.Stat(dir); err != nil || fi.Mode().Perm() != 0o750 {
			t.Errorf("new cache dir mode %v (%v), want 0750", fi.Mode(), err)
		}
		release()
		dir2, release2, err := sn.CacheDir(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := read(t, dir2, "kept"); got != "1" {
			t.Error("the cache did not persist")
		}
		release2()

		seeds := 0
		seeded := CacheRequest{ID: "c2", Sharing: SharingShared, Seed: func(_ context.Context, dst string) error {
			seeds++
			write(t, dst, "from-seed", "s")
			return nil
		}}
		for i := 0; i < 2; i++ {
			d, rel, err := sn.CacheDir(ctx, seeded)
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := read(t, d, "from-seed"); got != "s" {
				t.Errorf("seeded cache lacks the seed's file")
			}
			rel()
		}
		if seeds != 1 {
			t.Errorf("seeded %d times, want once", seeds)
		}

		locked := CacheRequest{ID: "c3", Sharing: SharingLocked, Mode: 0o755}
		_, unlock, err := sn.CacheDir(ctx, locked)
		if err != nil {
			t.Fatal(err)
		}
		wait, cancel := context.WithCancel(ctx)
		cancel()
		if _, _, err := sn.CacheDir(wait, locked); !errors.Is(err, context.Canceled) {
			t.Errorf("a second locked user got the cache while the first held it: %v", err)
		}
		unlock()

		private := CacheRequest{ID: "c4", Sharing: SharingPrivate, Mode: 0o755}
		p1, rel1, err := sn.CacheDir(ctx, private)
		if err != nil {
			t.Fatal(err)
		}
		p2, rel2, err := sn.CacheDir(ctx, private)
		if err != nil {
			t.Fatal(err)
		}
		if p1 == p2 {
			t.Errorf("two private users share %s", p1)
		}
		rel1()
		rel2()
	})
}

// A read-only view of no layers (a scratch stage as a RUN mount's source)
// is an empty directory that cannot be written.
func TestSnapshotterViewOfNothing(t *testing.T) {
	forEach(t, func(t *testing.T, sn Snapshotter, st *store.Store) {
		v := view(t, sn, nil)
		entries, err := os.ReadDir(v.Root)
		if err != nil || len(entries) != 0 {
			t.Fatalf("view of no layers: %v entries, err %v", entries, err)
		}
		if err := os.WriteFile(filepath.Join(v.Root, "x"), nil, 0o644); err == nil && !sn.Caps().Copy {
			t.Error("a view of no layers is writable")
		}
	})
}
