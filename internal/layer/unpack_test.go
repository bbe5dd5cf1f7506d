package layer

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func lstat(t *testing.T, p string) unix.Stat_t {
	t.Helper()
	var st unix.Stat_t
	must(t, unix.Lstat(p, &st))
	return st
}

// compareTrees asserts dst reproduces every path of src: type, mode,
// owner, mtime, size, device, link target and capability.
func compareTrees(t *testing.T, src, dst string) {
	t.Helper()
	must(t, filepath.WalkDir(src, func(p string, _ fs.DirEntry, err error) error {
		must(t, err)
		rel, _ := filepath.Rel(src, p)
		if rel == "." {
			return nil
		}
		q := filepath.Join(dst, rel)
		a, b := lstat(t, p), lstat(t, q)
		if a.Mode != b.Mode || a.Uid != b.Uid || a.Gid != b.Gid || a.Mtim.Sec != b.Mtim.Sec || a.Rdev != b.Rdev ||
			(a.Mode&unix.S_IFMT == unix.S_IFREG && a.Size != b.Size) {
			t.Errorf("%s: src mode %o %d:%d mtime %d size %d rdev %d; dst mode %o %d:%d mtime %d size %d rdev %d",
				rel, a.Mode, a.Uid, a.Gid, a.Mtim.Sec, a.Size, a.Rdev, b.Mode, b.Uid, b.Gid, b.Mtim.Sec, b.Size, b.Rdev)
		}
		if a.Mode&unix.S_IFMT == unix.S_IFLNK {
			la, _ := os.Readlink(p)
			lb, _ := os.Readlink(q)
			if la != lb {
				t.Errorf("%s: link %q, want %q", rel, lb, la)
			}
			return nil
		}
		ca, _ := getXattr(p, capXattr)
		cb, _ := getXattr(q, capXattr)
		if !bytes.Equal(ca, cb) {
			t.Errorf("%s: capability %x, want %x", rel, cb, ca)
		}
		return nil
	}))
}

func TestUnpackRoundTrip(t *testing.T) {
	requireRoot(t)
	src := t.TempDir()
	stamp := time.Date(2015, 6, 7, 8, 9, 10, 0, time.UTC)
	buildTree(t, src, false, stamp)
	for _, f := range []string{"su", "a/b/f1", "s", "a"} {
		must(t, os.Lchown(filepath.Join(src, f), 1000, 1001))
	}
	must(t, os.Chmod(filepath.Join(src, "su"), 0o755|os.ModeSetuid|os.ModeSetgid)) // chown cleared them
	for _, c := range []Compression{Gzip, Zstd, Uncompressed} {
		t.Run(string(c), func(t *testing.T) {
			var buf bytes.Buffer
			desc, err := WriteDir(context.Background(), &buf, src, Options{Epoch: time.Now(), Compression: c})
			must(t, err)
			dst := filepath.Join(t.TempDir(), "layer")
			diffID, err := Unpack(context.Background(), &buf, dst)
			must(t, err)
			if diffID != desc.DiffID {
				t.Errorf("DiffID %s, want %s", diffID, desc.DiffID)
			}
			compareTrees(t, src, dst)
			if h1, h2 := lstat(t, filepath.Join(dst, "h1")), lstat(t, filepath.Join(dst, "h2")); h1.Ino != h2.Ino {
				t.Error("h1 and h2 are not hardlinked")
			}
		})
	}
}

func TestUnpackWhiteouts(t *testing.T) {
	requireRoot(t)
	dst := t.TempDir()
	blob := makeTar(t, reg("keep", "k"), reg(".wh.gone", ""), dirEntry("d/"),
		reg("d/.wh..wh..opq", ""), reg("d/x", "x"), reg("e/.wh.y", ""))
	_, err := Unpack(context.Background(), bytes.NewReader(blob), dst)
	must(t, err)
	for _, p := range []string{"gone", "e/y"} {
		if st := lstat(t, filepath.Join(dst, p)); st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
			t.Errorf("%s: mode %o rdev %d, want a 0/0 character device", p, st.Mode, st.Rdev)
		}
	}
	if v, _ := getXattr(filepath.Join(dst, "d"), rootXattrs+opaqueXattr); string(v) != "y" {
		t.Errorf("d: opaque xattr %q", v)
	}
	if v, _ := getXattr(filepath.Join(dst, "e"), rootXattrs+opaqueXattr); v != nil {
		t.Errorf("e: unexpected opaque xattr %q", v)
	}
	for _, name := range []string{".wh..wh.plnk", "x/.wh..", ".wh...", ".wh."} {
		_, err := Unpack(context.Background(), bytes.NewReader(makeTar(t, reg(name, ""))), t.TempDir())
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: want an error naming the entry, got %v", name, err)
		}
	}
}

func TestUnpackReplacesEntries(t *testing.T) {
	requireRoot(t)
	dst := t.TempDir()
	mtime := time.Date(2003, 3, 3, 3, 3, 3, 0, time.UTC)
	later := dirEntry("d/")
	later.hdr.Mode, later.hdr.Uid, later.hdr.ModTime = 0o700, 7, mtime
	blob := makeTar(t, dirEntry("d/"), reg("d/f", "f"), later,
		reg("x", "file"), dirEntry("x/"), dirEntry("y/"), reg("y/z", ""), reg("y", "now a file"))
	_, err := Unpack(context.Background(), bytes.NewReader(blob), dst)
	must(t, err)
	st := lstat(t, filepath.Join(dst, "d"))
	if st.Mode != unix.S_IFDIR|0o700 || st.Uid != 7 || st.Mtim.Sec != mtime.Unix() {
		t.Errorf("d not updated in place: mode %o uid %d mtime %d", st.Mode, st.Uid, st.Mtim.Sec)
	}
	if _, err := os.Lstat(filepath.Join(dst, "d/f")); err != nil {
		t.Errorf("d/f lost: %v", err)
	}
	if fi, err := os.Lstat(filepath.Join(dst, "x")); err != nil || !fi.IsDir() {
		t.Errorf("x should be a directory: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(dst, "y")); err != nil || string(b) != "now a file" {
		t.Errorf("y should be a file: %q %v", b, err)
	}
}

func TestUnpackCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Unpack(ctx, bytes.NewReader(makeTar(t, reg("f", ""))), t.TempDir()); err == nil {
		t.Error("want an error")
	}
}

// A user-namespace overlay (userxattr) keeps its opaque marks under user.:
// unpacking marks there, and WriteDiff reads them back there.
func TestOpaqueXattrPrefix(t *testing.T) {
	requireRoot(t)
	dst := t.TempDir()
	blob := makeTar(t, dirEntry("d/"), reg("d/.wh..wh..opq", ""), reg("d/x", "x"))
	_, err := UnpackOverlay(context.Background(), bytes.NewReader(blob), dst, "user.")
	must(t, err)
	if v, _ := getXattr(filepath.Join(dst, "d"), "user."+opaqueXattr); string(v) != "y" {
		t.Errorf("user. opaque xattr %q, want y", v)
	}
	if v, _ := getXattr(filepath.Join(dst, "d"), rootXattrs+opaqueXattr); v != nil {
		t.Errorf("trusted. opaque xattr %q set, want none", v)
	}
	for prefix, want := range map[string]bool{"user.": true, "": false} {
		var buf bytes.Buffer
		_, err := WriteDiff(context.Background(), &buf, dst, Options{XattrPrefix: prefix})
		must(t, err)
		found := false
		for _, e := range readEntries(t, buf.Bytes()) {
			found = found || e.Name == "d/.wh..wh..opq"
		}
		if found != want {
			t.Errorf("WriteDiff with prefix %q: opaque marker written = %v, want %v", prefix, found, want)
		}
	}
}
