package harness

import (
	"archive/tar"
	"crypto/sha256"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"testing"

	digest "github.com/opencontainers/go-digest"
)

// File is one path of an image's final file system. Times are left out:
// what kiln and BuildKit both promise is content, not mtimes.
type File struct {
	Path     string
	Type     string // file, dir, symlink, fifo, char, block
	Mode     int64  // permission and special bits (07777)
	UID, GID int
	Size     int64             // regular files
	Digest   digest.Digest     // regular files: sha256 of the content
	Link     string            // symlink target
	HardLink string            // set when the layer made it a hard link: the path it links to
	Xattrs   map[string]string // from the PAX SCHILY.xattr. records
	Major    int64             // char and block devices
	Minor    int64
}

// String shows the file in one line, for diffs.
func (f File) String() string {
	s := fmt.Sprintf("%s %04o %d:%d", f.Type, f.Mode, f.UID, f.GID)
	switch f.Type {
	case "file":
		s += fmt.Sprintf(" %dB %s", f.Size, f.Digest)
	case "symlink":
		s += " -> " + f.Link
	case "char", "block":
		s += fmt.Sprintf(" %d:%d", f.Major, f.Minor)
	}
	if f.HardLink != "" {
		s += " (hard link to " + f.HardLink + ")"
	}
	keys := make([]string, 0, len(f.Xattrs))
	for k := range f.Xattrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		s += fmt.Sprintf(" %s=%q", k, f.Xattrs[k])
	}
	return s
}

// Files applies img's layers in order (whiteouts and opaque directories
// included, as a runtime would) and returns the final file system by path
// ("/etc/passwd"; the root itself is left out). A hard link is the file it
// links to, with HardLink set.
func (img *Image) Files(t testing.TB) map[string]File {
	t.Helper()
	if img.files != nil {
		return img.files
	}
	fsys := map[string]File{}
	for _, l := range img.Manifest.Layers {
		if err := applyLayer(fsys, img.Blob(l.Digest)); err != nil {
			t.Fatalf("layer %s: %v", l.Digest, err)
		}
	}
	delete(fsys, "/")
	img.files = fsys
	return fsys
}

// applyLayer applies one layer blob to fsys: its whiteouts remove what the
// lower layers hold (wherever they sit in the tar), then its entries are
// added in order.
func applyLayer(fsys map[string]File, blob string) error {
	type whiteout struct {
		path   string
		opaque bool
	}
	var whiteouts []whiteout
	var entries []File
	err := walkLayer(blob, func(name string, hdr *tar.Header, r io.Reader) error {
		dir, base := path.Split(name)
		dir = path.Clean(dir)
		switch {
		case base == ".wh..wh..opq":
			whiteouts = append(whiteouts, whiteout{dir, true})
			return nil
		case strings.HasPrefix(base, ".wh."):
			whiteouts = append(whiteouts, whiteout{path.Join(dir, strings.TrimPrefix(base, ".wh.")), false})
			return nil
		}
		f, err := fileOf(name, hdr, r)
		entries = append(entries, f)
		return err
	})
	if err != nil {
		return err
	}
	for _, w := range whiteouts {
		removeTree(fsys, w.path, !w.opaque)
	}
	for _, f := range entries {
		if old, ok := fsys[f.Path]; ok && old.Type == "dir" && f.Type != "dir" && f.HardLink == "" {
			removeTree(fsys, f.Path, false) // a file replacing a directory
		}
		if f.HardLink == "" {
			fsys[f.Path] = f
			continue
		}
		target, ok := fsys[f.HardLink]
		if !ok {
			return fmt.Errorf("hard link %s to %s, which is missing", f.Path, f.HardLink)
		}
		target.Path, target.HardLink = f.Path, f.HardLink
		fsys[f.Path] = target
	}
	return nil
}

// fileOf describes one tar entry, hashing a regular file's content.
func fileOf(name string, hdr *tar.Header, r io.Reader) (File, error) {
	f := File{Path: name, Mode: hdr.Mode & 0o7777, UID: hdr.Uid, GID: hdr.Gid}
	for k, v := range hdr.PAXRecords {
		if x, ok := strings.CutPrefix(k, "SCHILY.xattr."); ok {
			if f.Xattrs == nil {
				f.Xattrs = map[string]string{}
			}
			f.Xattrs[x] = v
		}
	}
	switch hdr.Typeflag {
	case tar.TypeReg:
		h := sha256.New()
		n, err := io.Copy(h, r)
		if err != nil {
			return File{}, err
		}
		f.Type, f.Size, f.Digest = "file", n, digest.NewDigest(digest.SHA256, h)
	case tar.TypeDir:
		f.Type = "dir"
	case tar.TypeSymlink:
		f.Type, f.Link = "symlink", hdr.Linkname
	case tar.TypeLink:
		f.HardLink = path.Clean("/" + hdr.Linkname)
	case tar.TypeFifo:
		f.Type = "fifo"
	case tar.TypeChar:
		f.Type, f.Major, f.Minor = "char", hdr.Devmajor, hdr.Devminor
	case tar.TypeBlock:
		f.Type, f.Major, f.Minor = "block", hdr.Devmajor, hdr.Devminor
	default:
		f.Type = fmt.Sprintf("type%c", hdr.Typeflag)
	}
	return f, nil
}

// removeTree deletes p's descendants from fsys, and p too if self.
func removeTree(fsys map[string]File, p string, self bool) {
	if self {
		delete(fsys, p)
	}
	prefix := strings.TrimSuffix(p, "/") + "/"
	for name := range fsys {
		if strings.HasPrefix(name, prefix) {
			delete(fsys, name)
		}
	}
}
