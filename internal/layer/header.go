package layer

import (
	"archive/tar"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// header builds a normalized tar header from a file's stat. It returns nil
// for files a layer cannot hold (sockets).
func (t *treeWriter) header(abs, rel string, st *unix.Stat_t) (*tar.Header, error) {
	mtime := st.Mtim.Sec
	if mtime > t.epoch {
		mtime = t.epoch
	}
	hdr := &tar.Header{
		Name:    rel,
		Mode:    int64(st.Mode & 0o7777),
		Uid:     int(st.Uid),
		Gid:     int(st.Gid),
		ModTime: unixTime(mtime),
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		hdr.Typeflag, hdr.Name = tar.TypeDir, rel+"/"
	case unix.S_IFREG:
		hdr.Typeflag, hdr.Size = tar.TypeReg, st.Size
		if st.Nlink > 1 {
			id := inode{dev: st.Dev, ino: st.Ino}
			if first, ok := t.links[id]; ok {
				hdr.Typeflag, hdr.Size, hdr.Linkname = tar.TypeLink, 0, first
			} else {
				t.links[id] = rel
			}
		}
	case unix.S_IFLNK:
		target, err := os.Readlink(abs)
		if err != nil {
			return nil, fmt.Errorf("reading symlink %s: %w", rel, err)
		}
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, target
	case unix.S_IFCHR, unix.S_IFBLK:
		hdr.Typeflag = tar.TypeChar
		if st.Mode&unix.S_IFMT == unix.S_IFBLK {
			hdr.Typeflag = tar.TypeBlock
		}
		hdr.Devmajor, hdr.Devminor = int64(unix.Major(st.Rdev)), int64(unix.Minor(st.Rdev))
	case unix.S_IFIFO:
		hdr.Typeflag = tar.TypeFifo
	default:
		return nil, nil // sockets are recreated by their programs
	}
	if hdr.Typeflag == tar.TypeLink || hdr.Typeflag == tar.TypeSymlink {
		return hdr, nil
	}
	capability, err := getXattr(abs, capXattr)
	if err != nil {
		return nil, fmt.Errorf("writing %s: %w", rel, err)
	}
	if len(capability) > 0 {
		hdr.PAXRecords = map[string]string{paxXattr + capXattr: string(capability)}
	}
	return hdr, nil
}

func unixTime(sec int64) time.Time { return time.Unix(sec, 0) }

// getXattr returns the value of an xattr of p (not following symlinks), or
// nil if it is unset or unsupported.
func getXattr(p, name string) ([]byte, error) {
	for {
		n, err := unix.Lgetxattr(p, name, nil)
		if errors.Is(err, unix.ENODATA) || errors.Is(err, unix.ENOTSUP) {
			return nil, nil
		} else if err != nil {
			return nil, fmt.Errorf("reading xattr %s: %w", name, err)
		}
		buf := make([]byte, n)
		n, err = unix.Lgetxattr(p, name, buf)
		if errors.Is(err, unix.ERANGE) {
			continue // grew in between
		} else if err != nil {
			return nil, fmt.Errorf("reading xattr %s: %w", name, err)
		}
		return buf[:n], nil
	}
}
