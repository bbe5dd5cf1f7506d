package layer

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// mountOverlay mounts lower under a fresh upperdir and returns the merged
// and upper dirs. The kernel here accepts redirect_dir=off,metacopy=off; if
// one does not, the test falls back to defaults and says so.
func mountOverlay(t *testing.T, lower string) (merged, upper string) {
	t.Helper()
	base := t.TempDir()
	upper, work, merged := filepath.Join(base, "u"), filepath.Join(base, "w"), filepath.Join(base, "m")
	for _, d := range []string{upper, work, merged} {
		must(t, os.Mkdir(d, 0o755))
	}
	opts := "lowerdir=" + lower + ",upperdir=" + upper + ",workdir=" + work
	if err := unix.Mount("overlay", merged, "overlay", 0, opts+",redirect_dir=off,metacopy=off"); err != nil {
		t.Logf("kernel rejected redirect_dir=off,metacopy=off (%v); mounting with defaults", err)
		must(t, unix.Mount("overlay", merged, "overlay", 0, opts))
	}
	t.Cleanup(func() { _ = unix.Unmount(merged, unix.MNT_DETACH) })
	return merged, upper
}

func TestWriteDiffOverlay(t *testing.T) {
	requireRoot(t)
	old := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	epoch := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	lower := t.TempDir()
	for _, f := range []string{"keep.txt", "mod.txt", "chmod.sh", "del.txt", "own.txt", "gone/a", "redo/old", "redo/sub/x"} {
		writeFile(t, filepath.Join(lower, f), "lower "+f, 0o644)
	}
	must(t, os.Symlink("keep.txt", filepath.Join(lower, "link")))
	for _, f := range []string{"chmod.sh", "own.txt"} {
		must(t, os.Chtimes(filepath.Join(lower, f), old, old))
	}

	merged, upper := mountOverlay(t, lower)
	m := func(p string) string { return filepath.Join(merged, p) }
	writeFile(t, m("new.txt"), "new", 0o640)
	must(t, os.WriteFile(m("mod.txt"), []byte("modified"), 0o644))
	must(t, os.Chmod(m("chmod.sh"), 0o755|os.ModeSetuid))
	must(t, os.Remove(m("del.txt")))
	must(t, os.RemoveAll(m("gone")))
	must(t, os.RemoveAll(m("redo")))
	writeFile(t, m("redo/fresh"), "fresh", 0o600)
	must(t, os.Lchown(m("own.txt"), 1234, 5678))
	must(t, unix.Unmount(merged, 0))

	var buf bytes.Buffer
	desc, err := WriteDiff(context.Background(), &buf, upper, Options{Epoch: epoch, Compression: Uncompressed})
	must(t, err)
	if desc.Digest != desc.DiffID || desc.Size != int64(buf.Len()) || desc.MediaType != "application/vnd.oci.image.layer.v1.tar" {
		t.Errorf("bad descriptor %+v for %d bytes", desc, buf.Len())
	}
	e, o := epoch.Unix(), old.Unix()
	want := []entry{
		{Name: ".wh.del.txt", Type: tar.TypeReg, MTime: e},
		{Name: ".wh.gone", Type: tar.TypeReg, MTime: e},
		{Name: "chmod.sh", Type: tar.TypeReg, Mode: 0o4755, MTime: o, Size: 14},
		{Name: "mod.txt", Type: tar.TypeReg, Mode: 0o644, MTime: e, Size: 8},
		{Name: "new.txt", Type: tar.TypeReg, Mode: 0o640, MTime: e, Size: 3},
		{Name: "own.txt", Type: tar.TypeReg, Mode: 0o644, UID: 1234, GID: 5678, MTime: o, Size: 13},
		{Name: "redo/", Type: tar.TypeDir, Mode: 0o755, MTime: e},
		{Name: "redo/.wh..wh..opq", Type: tar.TypeReg, MTime: e},
		{Name: "redo/fresh", Type: tar.TypeReg, Mode: 0o600, MTime: e, Size: 5},
	}
	assertEntries(t, readEntries(t, buf.Bytes()), want)
}

func assertEntries(t *testing.T, got, want []entry) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("got %d entries, want %d", len(got), len(want))
	}
	for i := range max(len(got), len(want)) {
		var g, w entry
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			t.Errorf("entry %d:\n got  %+v\n want %+v", i, g, w)
		}
	}
}
