package layer

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	securejoin "github.com/cyphar/filepath-securejoin"
	"golang.org/x/sys/unix"
)

// makeRoom makes room for a new entry at p: an existing directory is kept when
// keepDir is set (and reported), anything else is removed. RemoveAll does not
// follow a symlink at p.
func makeRoom(p string, keepDir bool) (bool, error) {
	fi, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("inspecting existing entry: %w", err)
	}
	if keepDir && fi.IsDir() {
		return true, nil
	}
	if err := os.RemoveAll(p); err != nil {
		return false, fmt.Errorf("replacing existing entry: %w", err)
	}
	return false, nil
}

// dir creates or updates a directory; its times are set at the end.
func (u *unpacker) dir(rel string, hdr *tar.Header) error {
	p, err := u.resolve(rel)
	if err != nil {
		return err
	}
	exists, err := makeRoom(p, true)
	if err != nil {
		return err
	}
	if !exists {
		if err := os.Mkdir(p, 0o700); err != nil {
			return fmt.Errorf("creating directory: %w", err)
		}
	}
	u.dirTimes[rel] = entryTimes(hdr)
	return setMeta(p, hdr, false)
}

func (u *unpacker) file(rel string, hdr *tar.Header, r io.Reader) error {
	p, err := u.resolve(rel)
	if err != nil {
		return err
	}
	if _, err := makeRoom(p, false); err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return fmt.Errorf("creating file: %w", err)
	}
	_, err = io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing file: %w", err)
	}
	if err := setMeta(p, hdr, false); err != nil {
		return err
	}
	return setTimes(p, entryTimes(hdr))
}

// special creates a symlink, device node or fifo.
func (u *unpacker) special(rel string, hdr *tar.Header) error {
	if u.noDevices && (hdr.Typeflag == tar.TypeChar || hdr.Typeflag == tar.TypeBlock) {
		return nil
	}
	p, err := u.resolve(rel)
	if err != nil {
		return err
	}
	if _, err := makeRoom(p, false); err != nil {
		return err
	}
	switch hdr.Typeflag {
	case tar.TypeSymlink:
		err = os.Symlink(hdr.Linkname, p) // stored verbatim, never followed
	case tar.TypeChar:
		err = unix.Mknod(p, unix.S_IFCHR|0o600, int(unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))))
	case tar.TypeBlock:
		err = unix.Mknod(p, unix.S_IFBLK|0o600, int(unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))))
	default:
		err = unix.Mkfifo(p, 0o600)
	}
	if err != nil {
		return fmt.Errorf("creating %s: %w", typeName(hdr.Typeflag), err)
	}
	if err := setMeta(p, hdr, hdr.Typeflag == tar.TypeSymlink); err != nil {
		return err
	}
	return setTimes(p, entryTimes(hdr))
}

// hardlink links rel to target, both resolved inside root. The inode keeps
// the metadata of the entry that created it.
func (u *unpacker) hardlink(rel, target string) error {
	trel, err := cleanName(target)
	if err != nil {
		return fmt.Errorf("link target: %w", err)
	}
	if trel == "" {
		return errors.New("hardlink to the layer root")
	}
	tp, err := u.resolve(trel)
	if err != nil {
		return err
	}
	p, err := u.resolve(rel)
	if err != nil {
		return err
	}
	if tp == p {
		return errors.New("hardlink to itself")
	}
	if _, err := makeRoom(p, false); err != nil {
		return err
	}
	if err := os.Link(tp, p); err != nil { // link(2) does not follow a symlink at tp
		return fmt.Errorf("creating hardlink to %q: %w", target, err)
	}
	return nil
}

// setMeta restores owner, mode and kept xattrs. chmod follows chown, which
// clears setuid/setgid; the capability xattr goes last, as chown clears it too.
func setMeta(p string, hdr *tar.Header, symlink bool) error {
	if err := os.Lchown(p, hdr.Uid, hdr.Gid); err != nil {
		if errors.Is(err, unix.EINVAL) {
			// chown's EINVAL: an id this user namespace does not map.
			return fmt.Errorf("owner %d:%d is outside the ids this user namespace maps (/proc/self/uid_map, /proc/self/gid_map): give the user larger ranges in /etc/subuid and /etc/subgid", hdr.Uid, hdr.Gid)
		}
		return fmt.Errorf("changing owner: %w", err)
	}
	if symlink {
		return nil
	}
	if err := unix.Fchmodat(unix.AT_FDCWD, p, uint32(hdr.Mode&0o7777), 0); err != nil {
		return fmt.Errorf("changing mode: %w", err)
	}
	if v, ok := hdr.PAXRecords[paxXattr+capXattr]; ok && v != "" {
		if err := unix.Lsetxattr(p, capXattr, []byte(v), 0); err != nil {
			return fmt.Errorf("setting %s: %w", capXattr, err)
		}
	}
	return nil
}

func entryTimes(hdr *tar.Header) times {
	t := times{atime: hdr.AccessTime, mtime: hdr.ModTime}
	if t.atime.IsZero() {
		t.atime = t.mtime
	}
	return t
}

func setTimes(p string, t times) error {
	ts := []unix.Timespec{
		{Sec: t.atime.Unix(), Nsec: int64(t.atime.Nanosecond())},
		{Sec: t.mtime.Unix(), Nsec: int64(t.mtime.Nanosecond())},
	}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("setting times: %w", err)
	}
	return nil
}

// setDirTimes applies directory times once all children exist. Paths are
// resolved again because a later entry may have replaced a parent.
func (u *unpacker) setDirTimes() error {
	for rel, t := range u.dirTimes {
		p := u.root
		if rel != "" {
			dirRel, base := path.Split(rel)
			parent, err := securejoin.SecureJoin(u.root, dirRel)
			if err != nil {
				return fmt.Errorf("resolving %q: %w", dirRel, err)
			}
			p = filepath.Join(parent, base)
		}
		if fi, err := os.Lstat(p); err != nil || !fi.IsDir() {
			continue // replaced by a later entry
		}
		if err := setTimes(p, t); err != nil {
			return fmt.Errorf("unpacking entry %q: %w", rel, err)
		}
	}
	return nil
}

func typeName(t byte) string {
	switch t {
	case tar.TypeSymlink:
		return "symlink"
	case tar.TypeChar:
		return "character device"
	case tar.TypeBlock:
		return "block device"
	}
	return "fifo"
}
