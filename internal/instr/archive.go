package instr

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/klauspost/compress/zstd"
	fscopy "github.com/tonistiigi/fsutil/copy"
	"golang.org/x/sys/unix"

	"github.com/kiln-build/kiln/internal/layer"
)

// unpackArchive extracts src into dest when it is a tar archive (plain,
// gzip, bzip2 or zstd, told by content as BuildKit does); done is false for
// anything else, which ADD then copies as a file.
func unpackArchive(ctx context.Context, srcRoot, src, dstRoot, dest string, chown fscopy.Chowner) (bool, error) {
	p, err := securejoin.SecureJoin(srcRoot, src)
	if err != nil {
		return false, err
	}
	fi, err := os.Stat(p)
	if err != nil || !fi.Mode().IsRegular() {
		return false, nil
	}
	f, err := os.Open(p)
	if err != nil {
		return false, err
	}
	defer f.Close()
	r, ok := archiveReader(bufio.NewReaderSize(f, 1<<16))
	if !ok || !isTar(p) {
		return false, nil
	}
	tmp, err := os.MkdirTemp(dstRoot, ".kiln-add-")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(tmp)
	entries, err := layer.UnpackArchive(ctx, r, tmp)
	if err != nil {
		return false, err
	}
	if chown != nil {
		if err := chownEntries(tmp, dstRoot, dest, entries, chown); err != nil {
			return false, err
		}
	}
	if err := replaceNonDirs(tmp, dstRoot, dest, entries); err != nil {
		return false, err
	}
	info := fscopy.CopyInfo{CopyDirContents: true}
	if err := copyThroughLinks(ctx, tmp, dstRoot, dest, entries, info); err != nil {
		return false, err
	}
	if err := fscopy.Copy(ctx, tmp, "/", dstRoot, dest+"/", fscopy.WithCopyInfo(info)); err != nil {
		return false, err
	}
	if err := restoreBlockDevices(tmp, dstRoot, dest); err != nil {
		return false, err
	}
	return true, nil
}

// restoreBlockDevices remakes as block devices the archive's block devices
// that fsutil's copy turned into character devices: its copyDevice clears
// S_IFSOCK's bits from the mode to stub sockets, and S_IFBLK (0060000)
// shares one of them with S_IFSOCK (0140000), leaving S_IFCHR. Owner, mode
// and times are those fsutil gave the copy.
func restoreBlockDevices(tmp, dstRoot, dest string) error {
	return filepath.WalkDir(tmp, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.Type()&os.ModeDevice == 0 || d.Type()&os.ModeCharDevice != 0 {
			return err
		}
		var src unix.Stat_t
		if err := unix.Lstat(p, &src); err != nil {
			return err
		}
		rel, err := filepath.Rel(tmp, p)
		if err != nil {
			return err
		}
		target, err := securejoin.SecureJoin(dstRoot, filepath.Join(dest, rel))
		if err != nil {
			return err
		}
		var got unix.Stat_t
		if err := unix.Lstat(target, &got); err != nil {
			return err
		}
		if got.Mode&unix.S_IFMT != unix.S_IFCHR || got.Rdev != src.Rdev {
			return nil // already right, or not the copy of this entry
		}
		if err := os.Remove(target); err != nil {
			return err
		}
		if err := unix.Mknod(target, unix.S_IFBLK|got.Mode&0o7777, int(got.Rdev)); err != nil {
			return fmt.Errorf("creating block device %s: %w", rel, err)
		}
		if err := unix.Lchown(target, int(got.Uid), int(got.Gid)); err != nil {
			return err
		}
		if err := unix.Chmod(target, got.Mode&0o7777); err != nil { // mknod applies the umask
			return err
		}
		ts := []unix.Timespec{got.Atim, got.Mtim}
		return unix.UtimesNanoAt(unix.AT_FDCWD, target, ts, unix.AT_SYMLINK_NOFOLLOW)
	})
}

// archiveReader recognizes a tar stream, decompressing bzip2 itself (the
// layer reader handles gzip, zstd and plain tar).
func archiveReader(br *bufio.Reader) (io.Reader, bool) {
	head, _ := br.Peek(512)
	switch {
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}), bytes.HasPrefix(head, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return br, true
	case bytes.HasPrefix(head, []byte("BZh")):
		return bzip2.NewReader(br), true
	case len(head) >= 262 && string(head[257:262]) == "ustar":
		return br, true
	}
	return nil, false
}

// replaceNonDirs removes what stands where the archive has a directory
// entry but the image has a non-directory, a symlink included (/var/run ->
// /run), shallowest first: BuildKit's untar replaces it with the directory.
func replaceNonDirs(tmp, dstRoot, dest string, entries map[string]bool) error {
	rels := make([]string, 0, len(entries))
	for rel := range entries {
		if fi, err := os.Lstat(filepath.Join(tmp, rel)); rel != "" && err == nil && fi.IsDir() {
			rels = append(rels, rel)
		}
	}
	sort.Strings(rels) // a parent sorts before its children
	for _, rel := range rels {
		target := filepath.Join(dest, rel)
		parent, err := securejoin.SecureJoin(dstRoot, filepath.Dir(target))
		if err != nil {
			return err
		}
		p := filepath.Join(parent, filepath.Base(target))
		if fi, err := os.Lstat(p); err == nil && !fi.IsDir() {
			if err := os.Remove(p); err != nil {
				return err
			}
		}
	}
	return nil
}

// copyThroughLinks copies first what the archive puts below a directory it
// only implies (no entry of its own) where the image has a symlink to a
// directory (var/run/app.pid, /var/run -> /run): BuildKit's untar writes
// through the link, into /run. Those subtrees then leave tmp.
func copyThroughLinks(ctx context.Context, tmp, dstRoot, dest string, entries map[string]bool, info fscopy.CopyInfo) error {
	var implied []string
	err := filepath.WalkDir(tmp, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if rel, _ := filepath.Rel(tmp, p); rel != "." && d.IsDir() && !entries[rel] {
			implied = append(implied, rel) // parents first: WalkDir is lexical
		}
		return nil
	})
	if err != nil {
		return err
	}
	var moved []string
	for _, rel := range implied {
		if slices.ContainsFunc(moved, func(m string) bool { return strings.HasPrefix(rel, m+string(filepath.Separator)) }) {
			continue
		}
		target := filepath.Join(dest, rel)
		parent, err := securejoin.SecureJoin(dstRoot, filepath.Dir(target))
		if err != nil {
			return err
		}
		if fi, err := os.Lstat(filepath.Join(parent, filepath.Base(target))); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			continue
		}
		resolved, err := securejoin.SecureJoin(dstRoot, target)
		if err != nil {
			return err
		}
		if fi, err := os.Stat(resolved); err != nil || !fi.IsDir() {
			continue
		}
		into, err := filepath.Rel(dstRoot, resolved)
		if err != nil {
			return err
		}
		if err := fscopy.Copy(ctx, tmp, "/"+rel, dstRoot, "/"+into+"/", fscopy.WithCopyInfo(info)); err != nil {
			return err
		}
		if err := os.RemoveAll(filepath.Join(tmp, rel)); err != nil {
			return err
		}
		moved = append(moved, rel)
	}
	return nil
}

// isTar reports whether the file, decompressed, starts with a valid tar
// header, as BuildKit's isArchivePath checks: a gzip file that is not a tar
// is copied as is.
func isTar(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	br := bufio.NewReader(f)
	head, _ := br.Peek(4)
	var r io.Reader = br
	switch {
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return false
		}
		defer zr.Close()
		r = zr
	case bytes.HasPrefix(head, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(br)
		if err != nil {
			return false
		}
		defer zr.Close()
		r = zr
	case bytes.HasPrefix(head, []byte("BZh")):
		r = bzip2.NewReader(br)
	}
	_, err = tar.NewReader(r).Next()
	return err == nil
}

// chownEntries gives the --chown owner to the archive's own entries and to
// the destination directories ADD creates, as BuildKit's untar does with
// ChownOpts; directories the archive only implies stay root's.
func chownEntries(tmp, dstRoot, dest string, entries map[string]bool, chown fscopy.Chowner) error {
	u, err := chown(&fscopy.User{})
	if err != nil || u == nil {
		return err
	}
	destPath, err := securejoin.SecureJoin(dstRoot, dest)
	if err != nil {
		return err
	}
	if _, err := fscopy.MkdirAll(destPath, 0o755, chown, nil); err != nil {
		return err
	}
	for rel := range entries {
		if rel == "" {
			continue
		}
		p := filepath.Join(tmp, rel)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		if err := os.Lchown(p, u.UID, u.GID); err != nil {
			return err
		}
		// chown clears setuid and setgid bits; the archive's mode stands.
		if fi.Mode()&(os.ModeSetuid|os.ModeSetgid) != 0 && fi.Mode()&os.ModeSymlink == 0 {
			if err := os.Chmod(p, fi.Mode()); err != nil {
				return err
			}
		}
	}
	return nil
}
