package integration

import (
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
)

// owner is a file's mode and owner.
type owner struct {
	mode     fs.FileMode
	uid, gid uint32
}

// statPath returns the mode and owner of path (slash, absolute) in rootfs,
// not following a final symlink.
func statPath(t *testing.T, rootfs, path string) owner {
	t.Helper()
	fi, err := os.Lstat(filepath.Join(rootfs, filepath.FromSlash(path)))
	if err != nil {
		t.Fatalf("image file %s: %v", path, err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return owner{mode: fi.Mode(), uid: st.Uid, gid: st.Gid}
}

// readImageFile returns the content of path in rootfs, trimmed.
func readImageFile(t *testing.T, rootfs, path string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(rootfs, filepath.FromSlash(path)))
	if err != nil {
		t.Fatalf("reading image file %s: %v", path, err)
	}
	return strings.TrimSpace(string(data))
}

// exists reports whether path exists in rootfs.
func exists(t *testing.T, rootfs, path string) bool {
	t.Helper()
	_, err := os.Lstat(filepath.Join(rootfs, filepath.FromSlash(path)))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return err == nil
}

// listTree returns every path under dir in rootfs ("/" form, sorted).
func listTree(t *testing.T, rootfs, dir string) []string {
	t.Helper()
	base := filepath.Join(rootfs, filepath.FromSlash(dir))
	var paths []string
	err := filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != base {
			rel, _ := filepath.Rel(rootfs, p)
			paths = append(paths, "/"+filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(paths)
	return paths
}
