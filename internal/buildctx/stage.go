package buildctx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"syscall"

	"golang.org/x/sys/unix"
)

// Stage materializes the context minus ignored files in dir, so COPY can run
// fsutil/copy on it with wildcards and --exclude applied exactly as on a
// transferred context. Files are hardlinked when dir is on the same
// filesystem (callers must treat the result as read-only: it shares inodes
// with the context), else copied with mode, owner, mtime and in-context
// hardlinks preserved. Symlinks are recreated, never followed. dir must not
// exist or be empty.
func (c *Context) Stage(ctx context.Context, dir string) error {
	if _, err := c.ignoreMatcher(); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("staging build context: %w", err)
	}
	s := &stager{ctx: ctx, c: c, src: c.Root, dst: dir, link: !c.CopyOnly,
		exceptions: c.hasExceptions(), copied: map[fileID]string{}}
	if err := s.dir("."); err != nil {
		return fmt.Errorf("staging build context: %w", err)
	}
	return nil
}

type fileID struct{ dev, ino uint64 }

type stager struct {
	ctx        context.Context
	c          *Context
	src, dst   string
	link       bool              // try hardlinks; cleared on the first EXDEV
	exceptions bool              // "!" patterns: enter ignored directories
	copied     map[fileID]string // copy mode: first staged path per multiply-linked inode
}

// dir stages the directory rel (which exists in the context) and its
// entries; its own metadata is set last, as creating entries moves its mtime.
func (s *stager) dir(rel string) error {
	src, dst := filepath.Join(s.src, rel), filepath.Join(s.dst, rel)
	st, err := lstat(src)
	if err != nil {
		return err
	}
	if rel != "." {
		if err := os.Mkdir(dst, 0o700); err != nil {
			return err
		}
	}
	names, err := readDirNames(src)
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := s.ctx.Err(); err != nil {
			return err
		}
		if err := s.entry(path.Join(rel, n)); err != nil {
			return err
		}
	}
	return setMeta(dst, st, false)
}

// entry stages one path below the root, skipping ignored ones.
func (s *stager) entry(rel string) error {
	src, dst := filepath.Join(s.src, rel), filepath.Join(s.dst, rel)
	st, err := lstat(src)
	if err != nil {
		return err
	}
	isDir := st.Mode&syscall.S_IFMT == syscall.S_IFDIR
	if s.c.Excluded(rel, isDir) {
		if !isDir || !s.exceptions {
			return nil
		}
		if err := s.dir(rel); err != nil {
			return err
		}
		// Keep an ignored directory only as the parent of a re-included entry.
		if err := os.Remove(dst); err != nil && !errors.Is(err, syscall.ENOTEMPTY) && !errors.Is(err, syscall.EEXIST) {
			return err
		}
		return nil
	}
	switch st.Mode & syscall.S_IFMT {
	case syscall.S_IFDIR:
		return s.dir(rel)
	case syscall.S_IFREG:
		return s.file(src, dst, st)
	case syscall.S_IFLNK:
		target, err := os.Readlink(src)
		if err != nil {
			return err
		}
		if err := os.Symlink(target, dst); err != nil {
			return err
		}
		return setMeta(dst, st, true)
	case syscall.S_IFIFO, syscall.S_IFCHR, syscall.S_IFBLK:
		if err := syscall.Mknod(dst, st.Mode, int(st.Rdev)); err != nil {
			return fmt.Errorf("creating %s: %w", rel, err)
		}
		return setMeta(dst, st, false)
	}
	return nil // sockets cannot be sent in a context
}

// file hardlinks src to dst, or copies it when linking is impossible.
func (s *stager) file(src, dst string, st *syscall.Stat_t) error {
	if s.link {
		err := os.Link(src, dst)
		if err == nil {
			return nil
		}
		if errors.Is(err, syscall.EXDEV) {
			s.link = false
		}
		// EPERM (protected_hardlinks), EMLINK: copy this one.
	}
	id := fileID{uint64(st.Dev), st.Ino}
	if st.Nlink > 1 {
		if first, ok := s.copied[id]; ok {
			return os.Link(first, dst)
		}
	}
	if err := copyFile(src, dst); err != nil {
		return err
	}
	if st.Nlink > 1 {
		s.copied[id] = dst
	}
	return setMeta(dst, st, false)
}

func copyFile(src, dst string) error {
	in, err := os.OpenFile(src, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
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
		return fmt.Errorf("copying %s: %w", src, err)
	}
	return out.Close()
}

// setMeta copies owner, mode and mtime; chown first, as it clears setuid.
func setMeta(dst string, st *syscall.Stat_t, isLink bool) error {
	if err := os.Lchown(dst, int(st.Uid), int(st.Gid)); err != nil {
		return err
	}
	if !isLink {
		if err := syscall.Chmod(dst, st.Mode&0o7777); err != nil {
			return fmt.Errorf("chmod %s: %w", dst, err)
		}
	}
	ts := []unix.Timespec{unix.Timespec(st.Atim), unix.Timespec(st.Mtim)}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, dst, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("setting times on %s: %w", dst, err)
	}
	return nil
}

func lstat(p string) (*syscall.Stat_t, error) {
	var st syscall.Stat_t
	if err := syscall.Lstat(p, &st); err != nil {
		return nil, &os.PathError{Op: "lstat", Path: p, Err: err}
	}
	return &st, nil
}

func readDirNames(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", dir, err)
	}
	slices.Sort(names)
	return names, nil
}
