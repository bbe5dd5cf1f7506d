package instr

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// TestAddKeepsBlockDevices: a block device in an ADD archive stays a block
// device (fsutil's copy made it a character device), with its numbers,
// mode and owner; a character device stays one.
func TestAddKeepsBlockDevices(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mknod needs root")
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range []*tar.Header{
		{Name: "dev/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "dev/loop9", Typeflag: tar.TypeBlock, Devmajor: 7, Devminor: 9, Mode: 0o660, Uid: 0, Gid: 6},
		{Name: "dev/null9", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3, Mode: 0o666},
	} {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
	}
	tw.Close()
	src, dst := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "devs.tar"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	done, err := unpackArchive(context.Background(), src, "devs.tar", dst, "/out", nil)
	if err != nil || !done {
		t.Fatalf("unpackArchive: %v, %v", done, err)
	}
	for name, want := range map[string]struct {
		typ, major, minor, perm, gid uint32
	}{
		"loop9": {unix.S_IFBLK, 7, 9, 0o660, 6},
		"null9": {unix.S_IFCHR, 1, 3, 0o666, 0},
	} {
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(dst, "out", "dev", name), &st); err != nil {
			t.Fatal(err)
		}
		if st.Mode&unix.S_IFMT != want.typ || unix.Major(st.Rdev) != want.major || unix.Minor(st.Rdev) != want.minor ||
			st.Mode&0o7777 != want.perm || st.Gid != want.gid {
			t.Errorf("%s: mode %o rdev %d:%d gid %d, want type %o %d:%d perm %o gid %d", name, st.Mode, unix.Major(st.Rdev), unix.Minor(st.Rdev), st.Gid,
				want.typ, want.major, want.minor, want.perm, want.gid)
		}
	}
}
