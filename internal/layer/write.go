package layer

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/kiln-build/kiln/internal/image"
)

const (
	whiteoutPrefix = ".wh."
	whiteoutMeta   = whiteoutPrefix + whiteoutPrefix
	opaqueMarker   = whiteoutMeta + ".opq"
	opaqueXattr    = "overlay.opaque" // after the overlay mount's xattr prefix
	rootXattrs     = "trusted."
	capXattr       = "security.capability"
	paxXattr       = "SCHILY.xattr."
)

// WriteDiff writes the changes recorded in an overlayfs upperdir (mounted
// with redirect_dir=off and metacopy=off) as a layer blob to w, translating
// whiteouts and opaque directories into OCI markers.
func WriteDiff(ctx context.Context, w io.Writer, upperDir string, opts Options) (image.Layer, error) {
	return write(ctx, w, upperDir, opts, true)
}

// WriteDir writes a whole directory tree as a layer blob to w. Every file is
// written as it is: a 0/0 character device stays a device.
func WriteDir(ctx context.Context, w io.Writer, dir string, opts Options) (image.Layer, error) {
	return write(ctx, w, dir, opts, false)
}

// inode identifies a file for hardlink detection.
type inode struct{ dev, ino uint64 }

// treeWriter walks one tree into a tar stream.
type treeWriter struct {
	ctx     context.Context
	root    string
	tw      *tar.Writer
	epoch   int64  // seconds
	overlay bool   // translate overlay whiteouts and opaque dirs
	opaque  string // the opaque dir xattr's name
	links   map[inode]string
	changes *Changes // nil: every entry of the tree
}

func write(ctx context.Context, w io.Writer, root string, opts Options, overlay bool) (image.Layer, error) {
	bw, err := newBlobWriter(w, opts)
	if err != nil {
		return image.Layer{}, err
	}
	return newTreeWriter(ctx, bw, root, opts, overlay).finish(bw)
}

func newTreeWriter(ctx context.Context, bw *blobWriter, root string, opts Options, overlay bool) *treeWriter {
	return &treeWriter{
		ctx:     ctx,
		root:    root,
		tw:      tar.NewWriter(bw),
		epoch:   opts.epoch().Unix(),
		overlay: overlay,
		opaque:  xattrPrefix(opts.XattrPrefix) + opaqueXattr,
		links:   map[inode]string{},
	}
}

// finish walks the tree into the tar and completes the blob.
func (t *treeWriter) finish(bw *blobWriter) (image.Layer, error) {
	if err := t.walkDir(""); err != nil {
		return image.Layer{}, err
	}
	if err := t.tw.Close(); err != nil {
		return image.Layer{}, fmt.Errorf("closing layer tar: %w", err)
	}
	return bw.finish()
}

// child is one directory entry, with the name it gets in the tar.
type child struct {
	name, out string
	whiteout  bool
	opaque    bool // a replaced directory (WriteChanges)
}

// walkDir writes the entries of the directory rel, sorted by tar name,
// recursing into subdirectories right after their own entry.
func (t *treeWriter) walkDir(rel string) error {
	dir := filepath.Join(t.root, rel)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("reading directory %s: %w", dir, err)
	}
	children := make([]child, 0, len(entries))
	for _, e := range entries {
		c := child{name: e.Name(), out: e.Name()}
		if t.changes != nil {
			var keep bool
			if c, keep = t.changes.child(rel, c); !keep {
				continue
			}
		}
		if strings.HasPrefix(c.name, whiteoutPrefix) {
			return fmt.Errorf("writing %s: name uses the reserved whiteout prefix %q", path.Join(rel, c.name), whiteoutPrefix)
		}
		if t.overlay && e.Type()&os.ModeCharDevice != 0 {
			if c.whiteout, err = isWhiteout(filepath.Join(dir, c.name)); err != nil {
				return err
			}
			if c.whiteout {
				c.out = whiteoutPrefix + c.name
			}
		}
		children = append(children, c)
	}
	if t.changes != nil {
		for _, name := range t.changes.Deleted[rel] {
			children = append(children, child{name: name, out: whiteoutPrefix + name, whiteout: true})
		}
	}
	slices.SortFunc(children, func(a, b child) int { return strings.Compare(a.out, b.out) })
	for _, c := range children {
		if err := t.ctx.Err(); err != nil {
			return fmt.Errorf("writing layer: %w", err)
		}
		if err := t.entry(rel, c); err != nil {
			return err
		}
	}
	return nil
}

// entry writes one directory entry and, for a directory, its subtree.
func (t *treeWriter) entry(relDir string, c child) error {
	if c.whiteout {
		return t.marker(path.Join(relDir, c.out))
	}
	rel := path.Join(relDir, c.name)
	abs := filepath.Join(t.root, rel)
	if t.changes != nil && t.changes.Stubs[rel] {
		hdr := &tar.Header{Typeflag: tar.TypeDir, Name: rel + "/", Mode: 0o755, ModTime: unixTime(t.epoch)}
		if err := t.tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("writing header of %s: %w", rel, err)
		}
		return nil
	}
	var st unix.Stat_t
	if err := unix.Lstat(abs, &st); err != nil {
		return fmt.Errorf("writing %s: %w", rel, err)
	}
	hdr, err := t.header(abs, rel, &st)
	if err != nil || hdr == nil {
		return err
	}
	if err := t.tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("writing header of %s: %w", rel, err)
	}
	switch hdr.Typeflag {
	case tar.TypeReg:
		return t.copyFile(abs, rel, hdr.Size)
	case tar.TypeDir:
		if c.opaque {
			if err := t.marker(path.Join(rel, opaqueMarker)); err != nil {
				return err
			}
		}
		if t.overlay {
			opaque, err := getXattr(abs, t.opaque)
			if err != nil {
				return fmt.Errorf("writing %s: %w", rel, err)
			}
			if string(opaque) == "y" {
				if err := t.marker(path.Join(rel, opaqueMarker)); err != nil {
					return err
				}
			}
		}
		return t.walkDir(rel)
	}
	return nil
}

// marker writes an empty whiteout or opaque marker entry.
func (t *treeWriter) marker(name string) error {
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, ModTime: unixTime(t.epoch)}
	if err := t.tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("writing marker %s: %w", name, err)
	}
	return nil
}

func (t *treeWriter) copyFile(abs, rel string, size int64) error {
	f, err := os.OpenFile(abs, os.O_RDONLY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return fmt.Errorf("opening %s: %w", rel, err)
	}
	defer f.Close()
	buf := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(buf)
	// Plain Writer and Reader, so the copy uses buf: io.CopyN would reach
	// tar's ReadFrom, which allocates a buffer for every file.
	n, err := io.CopyBuffer(struct{ io.Writer }{t.tw}, io.LimitReader(f, size), *buf)
	if err != nil {
		return fmt.Errorf("copying %s: %w", rel, err)
	}
	if n < size {
		return fmt.Errorf("copying %s: it shrank during the write", rel)
	}
	return nil
}

// copyBufs reuses copy buffers across the files of a layer.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

// isWhiteout reports whether the character device at p is an overlay
// whiteout (device number 0/0).
func isWhiteout(p string) (bool, error) {
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		return false, fmt.Errorf("checking whiteout %s: %w", p, err)
	}
	return st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == 0, nil
}
