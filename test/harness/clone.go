package harness

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// cloneTree makes dst a copy of src whose files are hard links to src's (a
// file that exists in dst already is kept: stores are content-addressed).
// Directories are made anew with src's mode, owner, xattrs and mtime. Where
// dst is on another file system, files are copied instead.
func cloneTree(src, dst string) error {
	type dirTime struct {
		path  string
		mtime time.Time
	}
	var dirs []dirTime
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			if err := makeDirLike(target, p, fi); err != nil {
				return err
			}
			dirs = append(dirs, dirTime{target, fi.ModTime()})
			return nil
		}
		return linkOrCopy(p, target, fi)
	})
	if err != nil {
		return fmt.Errorf("cloning %s: %w", src, err)
	}
	// Children changed the directories' mtimes: set them last, deepest first.
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := os.Chtimes(dirs[i].path, dirs[i].mtime, dirs[i].mtime); err != nil {
			return fmt.Errorf("cloning %s: %w", src, err)
		}
	}
	return nil
}

// makeDirLike makes dir (if missing) with the mode, owner and xattrs of src.
func makeDirLike(dir, src string, fi fs.FileInfo) error {
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	st := fi.Sys().(*syscall.Stat_t)
	if err := os.Lchown(dir, int(st.Uid), int(st.Gid)); err != nil {
		return err
	}
	if err := os.Chmod(dir, fi.Mode()&(fs.ModePerm|fs.ModeSticky|fs.ModeSetgid|fs.ModeSetuid)); err != nil {
		return err
	}
	return copyXattrs(src, dir)
}

// linkOrCopy hard-links src to dst, or copies it when they are on different
// file systems. An existing dst is kept.
func linkOrCopy(src, dst string, fi fs.FileInfo) error {
	err := os.Link(src, dst)
	switch {
	case err == nil, errors.Is(err, fs.ErrExist):
		return nil
	case errors.Is(err, syscall.EXDEV):
		return copyFile(src, dst, fi)
	}
	return err
}

// copyFile copies a regular file or symlink with its mode, owner, xattrs and
// mtime (the store holds nothing else outside its layer directories, which
// are only hard-linked).
func copyFile(src, dst string, fi fs.FileInfo) error {
	st := fi.Sys().(*syscall.Stat_t)
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(src)
		if err != nil {
			return err
		}
		if err := os.Symlink(target, dst); err != nil {
			return err
		}
		return os.Lchown(dst, int(st.Uid), int(st.Gid))
	case !fi.Mode().IsRegular():
		return fmt.Errorf("copying %s: %v is neither a file nor a symlink", src, fi.Mode().Type())
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	if err := os.Lchown(dst, int(st.Uid), int(st.Gid)); err != nil {
		return err
	}
	if err := os.Chmod(dst, fi.Mode()&(fs.ModePerm|fs.ModeSticky|fs.ModeSetgid|fs.ModeSetuid)); err != nil {
		return err
	}
	if err := copyXattrs(src, dst); err != nil {
		return err
	}
	return os.Chtimes(dst, fi.ModTime(), fi.ModTime())
}

// copyXattrs copies every extended attribute of src (not following
// symlinks) to dst.
func copyXattrs(src, dst string) error {
	names, err := listXattrs(src)
	if err != nil {
		return err
	}
	for _, name := range names {
		val, err := getXattr(src, name)
		if err != nil {
			return err
		}
		if err := unix.Lsetxattr(dst, name, val, 0); err != nil {
			return fmt.Errorf("setting xattr %s on %s: %w", name, dst, err)
		}
	}
	return nil
}

// listXattrs lists the extended attributes of p (not following symlinks).
func listXattrs(p string) ([]string, error) {
	size, err := unix.Llistxattr(p, nil)
	if err != nil || size == 0 {
		if errors.Is(err, unix.ENOTSUP) {
			return nil, nil
		}
		return nil, err
	}
	buf := make([]byte, size)
	n, err := unix.Llistxattr(p, buf)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, name := range strings.Split(string(buf[:n]), "\x00") {
		if name != "" {
			names = append(names, name)
		}
	}
	return names, nil
}

// getXattr reads one extended attribute of p (not following symlinks).
func getXattr(p, name string) ([]byte, error) {
	size, err := unix.Lgetxattr(p, name, nil)
	if err != nil {
		return nil, fmt.Errorf("reading xattr %s of %s: %w", name, p, err)
	}
	buf := make([]byte, size)
	n, err := unix.Lgetxattr(p, name, buf)
	if err != nil {
		return nil, fmt.Errorf("reading xattr %s of %s: %w", name, p, err)
	}
	return buf[:n], nil
}

// chmodDirs makes every directory under p writable by its owner, so that a
// tree with read-only directories can be removed.
func chmodDirs(p string) error {
	return filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(path, 0o700)
		}
		return nil
	})
}
