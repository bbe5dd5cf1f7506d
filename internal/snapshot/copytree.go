package snapshot

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// capXattr is the one xattr a layer carries (file capabilities).
const capXattr = "security.capability"

// merger copies overlay-format directories (whiteouts as 0/0 character
// devices, opaque directories marked by an xattr) bottom first into one
// plain tree, as overlayfs would show them. Files are reflinked where the
// filesystem can (FICLONE), else copied: never hardlinked, since a RUN
// writes the tree and must not reach the store's layers through it.
type merger struct {
	opaque  string // the opaque mark's xattr name
	devices bool   // make device nodes (else skip them, as unpacking does)
	plain   bool   // no whiteouts: a 0/0 device is copied as one
	links   map[uint64]string
	// reserved, when set, names the destinations the merge must leave as
	// they are (kept) or keep as directories (above a kept path): a lent
	// container root's mounts and kiln's own paths (hostRoot).
	reserved func(dst string) (kept, above bool)
	// shadowed: the reserved destinations the image has an entry at (true)
	// or removes (false), as the last layer says.
	shadowed map[string]bool
}

func newMerger(c Capabilities) *merger {
	return &merger{opaque: c.XattrPrefix + "overlay.opaque", devices: c.Mknod}
}

// merge copies dirs (top first) into dst, an empty directory.
func (m *merger) merge(dirs []string, dst string) error {
	for i := len(dirs) - 1; i >= 0; i-- {
		m.links = map[uint64]string{}
		if err := m.dir(dirs[i], dst); err != nil {
			return err
		}
		if err := copyMeta(dirs[i], dst, true); err != nil {
			return err
		}
	}
	return nil
}

// dir copies the children of src over those of dst.
func (m *merger) dir(src, dst string) error {
	entries, err := os.ReadDir(src)
	if err != nil {
		return fmt.Errorf("copying %s: %w", src, err)
	}
	for _, e := range entries {
		if err := m.entry(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

func (m *merger) entry(src, dst string) error {
	var st unix.Stat_t
	if err := unix.Lstat(src, &st); err != nil {
		return fmt.Errorf("copying %s: %w", src, err)
	}
	typ := st.Mode & unix.S_IFMT
	if m.reserved != nil {
		switch kept, above := m.reserved(dst); {
		case kept:
			if m.shadowed != nil {
				m.shadowed[dst] = !(typ == unix.S_IFCHR && st.Rdev == 0 && !m.plain)
			}
			return nil // the container's mount (or kiln's path) shows through
		case above && typ != unix.S_IFDIR:
			return fmt.Errorf("the image replaces the directory %s with a file or removes it, but the builder container has a mount (or kiln's own files) below it", dst)
		}
	}
	if typ == unix.S_IFCHR && st.Rdev == 0 && !m.plain { // a whiteout
		return removeAll(dst)
	}
	if typ == unix.S_IFDIR {
		return m.subdir(src, dst)
	}
	if err := removeAll(dst); err != nil {
		return err
	}
	switch typ {
	case unix.S_IFREG:
		if first, ok := m.links[st.Ino]; ok && st.Nlink > 1 {
			// A hardlink of the image's own, inside the new tree.
			return os.Link(first, dst)
		}
		if err := cloneFile(src, dst, &st); err != nil {
			return err
		}
		if st.Nlink > 1 {
			m.links[st.Ino] = dst
		}
	case unix.S_IFLNK:
		target, err := os.Readlink(src)
		if err != nil {
			return err
		}
		if err := os.Symlink(target, dst); err != nil {
			return err
		}
	case unix.S_IFCHR, unix.S_IFBLK:
		if !m.devices {
			return nil
		}
		if err := unix.Mknod(dst, st.Mode, int(st.Rdev)); err != nil {
			return fmt.Errorf("creating device %s: %w", dst, err)
		}
	case unix.S_IFIFO:
		if err := unix.Mkfifo(dst, 0o600); err != nil {
			return fmt.Errorf("creating fifo %s: %w", dst, err)
		}
	default:
		return nil // sockets: a layer has none
	}
	return copyMeta(src, dst, false)
}

// subdir merges the directory src into dst: an opaque src, or a dst that
// is not a directory, replaces what dst held.
func (m *merger) subdir(src, dst string) error {
	fi, err := os.Lstat(dst)
	exists := err == nil && fi.IsDir()
	if m.reserved != nil {
		if _, above := m.reserved(dst); above {
			return m.mergeAbove(src, dst)
		}
	}
	if exists && !m.plain {
		if v, _ := lgetxattr(src, m.opaque); string(v) == "y" {
			if err := removeAll(dst); err != nil {
				return err
			}
			exists = false
		}
	} else if err := removeAll(dst); err != nil {
		return err
	}
	if !exists {
		if err := os.Mkdir(dst, 0o700); err != nil {
			return fmt.Errorf("creating %s: %w", dst, err)
		}
	}
	if err := m.dir(src, dst); err != nil {
		return err
	}
	return copyMeta(src, dst, true)
}

// mergeAbove merges src into dst, a directory that must stay: an opaque
// src removes dst's entries except the reserved ones.
func (m *merger) mergeAbove(src, dst string) error {
	if v, _ := lgetxattr(src, m.opaque); string(v) == "y" {
		if err := m.clearUnreserved(dst); err != nil {
			return err
		}
	}
	if err := m.dir(src, dst); err != nil {
		return err
	}
	return copyMeta(src, dst, true)
}

// clearUnreserved removes what dir holds, but for the reserved paths.
func (m *merger) clearUnreserved(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		kept, above := m.reserved(p)
		switch {
		case kept:
		case above:
			if err := m.clearUnreserved(p); err != nil {
				return err
			}
		default:
			if err := removeAll(p); err != nil {
				return err
			}
		}
	}
	return nil
}

// CopyTree copies the file or tree src to dst, which must not exist, as
// it is (owners, modes, times, file capabilities, hardlinks inside it):
// reflinked where the filesystem can, never hardlinked to src. An
// executor that cannot mount copies a RUN's mounts in and out with it.
func CopyTree(src, dst string) error {
	m := &merger{devices: true, plain: true, links: map[uint64]string{}}
	if _, err := os.Lstat(dst); err == nil {
		return fmt.Errorf("copying %s: %s exists", src, dst)
	}
	return m.entry(src, dst)
}

// cloneFile makes dst a copy of the regular file src: a reflink where the
// filesystem shares extents, else a byte copy (sparse regions are not
// kept).
func cloneFile(src, dst string, st *unix.Stat_t) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if st.Size > 0 && unix.IoctlFileClone(int(out.Fd()), int(in.Fd())) != nil {
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return fmt.Errorf("copying %s: %w", src, err)
		}
	}
	return out.Close()
}

// copyMeta gives dst the owner, mode, file capability and times of src.
func copyMeta(src, dst string, isDir bool) error {
	var st unix.Stat_t
	if err := unix.Lstat(src, &st); err != nil {
		return err
	}
	if err := unix.Lchown(dst, int(st.Uid), int(st.Gid)); err != nil {
		return fmt.Errorf("chown %s: %w", dst, err)
	}
	if st.Mode&unix.S_IFMT == unix.S_IFLNK {
		return unix.UtimesNanoAt(unix.AT_FDCWD, dst, []unix.Timespec{st.Atim, st.Mtim}, unix.AT_SYMLINK_NOFOLLOW)
	}
	if !isDir {
		if v, err := lgetxattr(src, capXattr); err != nil {
			return err
		} else if len(v) > 0 {
			if err := unix.Lsetxattr(dst, capXattr, v, 0); err != nil {
				return fmt.Errorf("setting %s on %s: %w", capXattr, dst, err)
			}
		}
	}
	// Last: chown and setting a file capability clear setuid and setgid.
	if err := unix.Chmod(dst, st.Mode&0o7777); err != nil {
		return fmt.Errorf("chmod %s: %w", dst, err)
	}
	ts := []unix.Timespec{st.Atim, st.Mtim}
	return unix.UtimesNanoAt(unix.AT_FDCWD, dst, ts, unix.AT_SYMLINK_NOFOLLOW)
}

func removeAll(p string) error {
	if err := os.RemoveAll(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("replacing %s: %w", p, err)
	}
	return nil
}

// lgetxattr returns an xattr of p, nil when unset or unsupported.
func lgetxattr(p, name string) ([]byte, error) {
	buf := make([]byte, 256)
	for {
		n, err := unix.Lgetxattr(p, name, buf)
		switch {
		case errors.Is(err, unix.ERANGE):
			buf = make([]byte, 2*len(buf))
			continue
		case errors.Is(err, unix.ENODATA), errors.Is(err, unix.ENOTSUP):
			return nil, nil
		case err != nil:
			return nil, fmt.Errorf("reading xattr %s of %s: %w", name, p, err)
		}
		return buf[:n], nil
	}
}
