package snapshot

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/layer"
	"github.com/kiln-build/kiln/internal/store"
)

func newCopyStore(t *testing.T) (*Copy, *store.Store) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("copies keep owners and whiteouts: they need root")
	}
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return NewCopy(st, nil), st
}

// layerEntries lists a layer blob's tar entries by name.
func layerEntries(t *testing.T, st *store.Store, l *image.Layer) map[string]*tar.Header {
	t.Helper()
	f, err := st.OpenBlob(l.Digest)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	out := map[string]*tar.Header{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		} else if err != nil {
			t.Fatal(err)
		}
		out[h.Name] = h
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// The walk finds each kind of change a RUN makes and writes it as overlay
// would: changed content, chmod, chown, new symlink and fifo, a deleted
// file and directory (whiteouts), a directory replaced (opaque); untouched
// files and hidden paths stay out of the layer, and so does a directory
// above a hidden path that changed only by its entry (run/secrets), not
// one whose mode changed (run).
func TestCopyDiffFindsChanges(t *testing.T) {
	sn, st := newCopyStore(t)
	base := commit(t, sn, nil, func(root string) {
		write(t, root, "etc/content", "old")
		write(t, root, "etc/mode", "m")
		write(t, root, "etc/owner", "o")
		write(t, root, "etc/same", "s")
		write(t, root, "gone/f", "g")
		write(t, root, "rm", "r")
		write(t, root, "replaced/old", "x")
		write(t, root, "reused/old", "x")
		write(t, root, "run/secrets/kept", "k")
	})
	l := commit(t, sn, []image.Layer{*base}, func(root string) {
		// At once, as RUN rm -rf /o && mkdir /o: ext4 gives the new
		// directory the old one's inode number; its birth time tells.
		var before, after unix.Stat_t
		must(t, unix.Lstat(filepath.Join(root, "reused"), &before))
		must(t, os.RemoveAll(filepath.Join(root, "reused")))
		must(t, os.Mkdir(filepath.Join(root, "reused"), 0o755))
		must(t, unix.Lstat(filepath.Join(root, "reused"), &after))
		t.Logf("reused: inode %d, then %d", before.Ino, after.Ino)
		write(t, root, "etc/content", "new")
		must(t, os.Chmod(filepath.Join(root, "etc/mode"), 0o600))
		must(t, os.Lchown(filepath.Join(root, "etc/owner"), 12, 34))
		must(t, os.Symlink("content", filepath.Join(root, "etc/link")))
		must(t, unix.Mkfifo(filepath.Join(root, "etc/fifo"), 0o640))
		must(t, os.RemoveAll(filepath.Join(root, "gone")))
		must(t, os.Remove(filepath.Join(root, "rm")))
		must(t, os.RemoveAll(filepath.Join(root, "replaced")))
		write(t, root, "replaced/new", "n")
		write(t, root, "run/secrets/token", "SECRET")
		must(t, os.Chmod(filepath.Join(root, "run"), 0o700))
	}, "run/secrets/token")
	got := layerEntries(t, st, l)
	var names []string
	for n := range got {
		names = append(names, n)
	}
	slices.Sort(names)
	want := []string{".wh.gone", ".wh.rm", "etc/", "etc/content", "etc/fifo", "etc/link", "etc/mode", "etc/owner",
		"replaced/", "replaced/.wh..wh..opq", "replaced/new", "reused/", "reused/.wh..wh..opq", "run/"}
	if !slices.Equal(names, want) {
		t.Fatalf("layer entries %q, want %q", names, want)
	}
	if h := got["etc/mode"]; h.Mode != 0o600 {
		t.Errorf("etc/mode has mode %o", h.Mode)
	}
	if h := got["etc/owner"]; h.Uid != 12 || h.Gid != 34 {
		t.Errorf("etc/owner is %d:%d", h.Uid, h.Gid)
	}
	if h := got["etc/fifo"]; h.Typeflag != tar.TypeFifo || h.Mode != 0o640 {
		t.Errorf("etc/fifo: type %c mode %o", h.Typeflag, h.Mode)
	}
	v := view(t, sn, []image.Layer{*base, *l})
	for rel, want := range map[string]string{"etc/content": "new", "etc/same": "s", "replaced/new": "n", "run/secrets/kept": "k"} {
		if got, ok := read(t, v.Root, rel); !ok || got != want {
			t.Errorf("%s = %q (exists %v), want %q", rel, got, ok, want)
		}
	}
	for _, rel := range []string{"gone/f", "rm", "replaced/old", "run/secrets/token"} {
		if _, ok := read(t, v.Root, rel); ok {
			t.Errorf("%s is in the view", rel)
		}
	}
}

// A write through a step's tree never reaches the store's layer
// directories (nothing is hardlinked into them), and owners, modes,
// hardlinks and file capabilities survive the copy.
func TestCopyTreeIsPrivate(t *testing.T) {
	sn, st := newCopyStore(t)
	capability := []byte{1, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	base := commit(t, sn, nil, func(root string) {
		write(t, root, "bin/tool", "v1")
		must(t, os.Lchown(filepath.Join(root, "bin/tool"), 0, 50))
		must(t, unix.Chmod(filepath.Join(root, "bin/tool"), 0o4755))
		must(t, os.Link(filepath.Join(root, "bin/tool"), filepath.Join(root, "bin/alias")))
		must(t, unix.Lsetxattr(filepath.Join(root, "bin/tool"), capXattr, capability, 0))
	})
	a, err := sn.Prepare(context.Background(), []image.Layer{*base})
	must(t, err)
	var s1, s2 unix.Stat_t
	must(t, unix.Lstat(filepath.Join(a.Root, "bin/tool"), &s1))
	must(t, unix.Lstat(filepath.Join(a.Root, "bin/alias"), &s2))
	if s1.Mode&0o7777 != 0o4755 || s1.Gid != 50 || s1.Ino != s2.Ino {
		t.Errorf("copied bin/tool: mode %o gid %d, alias same inode %v", s1.Mode&0o7777, s1.Gid, s1.Ino == s2.Ino)
	}
	if v, err := lgetxattr(filepath.Join(a.Root, "bin/tool"), capXattr); err != nil || string(v) != string(capability) {
		t.Errorf("file capability not copied: %x, %v", v, err)
	}
	write(t, a.Root, "bin/tool", "changed by RUN")
	if got, _ := read(t, st.LayerDir(base.DiffID), "bin/tool"); got != "v1" {
		t.Fatalf("a write in the step's tree reached the store's layer: %q", got)
	}
	l, err := sn.Commit(context.Background(), a, layer.Options{Epoch: time.Unix(0, 0)})
	must(t, err)
	got := layerEntries(t, st, l)
	if got["bin/alias"] == nil || got["bin/tool"] == nil || got["bin/tool"].Typeflag != tar.TypeLink || got["bin/tool"].Linkname != "bin/alias" {
		t.Errorf("a changed hardlinked file: entries %v", got)
	}
}
