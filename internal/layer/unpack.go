package layer

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"

	"github.com/kiln-build/kiln/internal/testhook"
)

// Limits on hostile input.
const (
	maxNameLen = 4096
	maxDepth   = 1000
)

// Unpack reads a layer blob (gzip, zstd or plain tar, detected by magic
// bytes) and writes it into dir in overlay lower-dir format, never outside
// dir. It returns the DiffID: the digest of the whole uncompressed stream.
func Unpack(ctx context.Context, r io.Reader, dir string) (digest.Digest, error) {
	return unpack(ctx, r, dir, rootXattrs, nil)
}

// UnpackOverlay is Unpack for an overlay mount whose xattrs live under
// xattrPrefix ("trusted." or "user."): opaque directories are marked there.
func UnpackOverlay(ctx context.Context, r io.Reader, dir, xattrPrefix string) (digest.Digest, error) {
	return unpack(ctx, r, dir, xattrPrefix, nil)
}

// UnpackWith is UnpackOverlay with the snapshotter's limits too.
func UnpackWith(ctx context.Context, r io.Reader, dir string, o UnpackOptions) (digest.Digest, error) {
	return unpackWith(ctx, r, dir, o, nil)
}

// UnpackArchive is Unpack for ADD's archives: it also returns the relative
// paths the tar has entries for, so a caller can tell them from directories
// that only exist because an entry implied them.
func UnpackArchive(ctx context.Context, r io.Reader, dir string) (map[string]bool, error) {
	entries := map[string]bool{}
	_, err := unpack(ctx, r, dir, rootXattrs, func(rel string) { entries[rel] = true })
	return entries, err
}

func unpack(ctx context.Context, r io.Reader, dir, prefix string, seen func(rel string)) (digest.Digest, error) {
	return unpackWith(ctx, r, dir, UnpackOptions{XattrPrefix: prefix}, seen)
}

func unpackWith(ctx context.Context, r io.Reader, dir string, o UnpackOptions, seen func(rel string)) (digest.Digest, error) {
	root, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("resolving layer directory: %w", err)
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", fmt.Errorf("creating layer directory: %w", err)
	}
	ur, release, err := decompress(r)
	if err != nil {
		return "", err
	}
	defer release()
	d := digest.SHA256.Digester()
	tee := io.TeeReader(ur, d.Hash())
	u := &unpacker{root: root, opaque: xattrPrefix(o.XattrPrefix) + opaqueXattr, noDevices: o.NoDevices, dirTimes: map[string]times{}}
	tr := tar.NewReader(tee)
	for n := 1; ; n++ {
		if err := ctx.Err(); err != nil {
			return "", fmt.Errorf("unpacking layer: %w", err)
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return "", fmt.Errorf("reading layer tar: %w", err)
		}
		if err := u.entry(hdr, tr); err != nil {
			return "", fmt.Errorf("unpacking entry %q: %w", hdr.Name, err)
		}
		if n%128 == 0 {
			testhook.Point(testhook.Unpack)
		}
		if seen != nil {
			if rel, err := cleanName(hdr.Name); err == nil {
				seen(rel)
			}
		}
	}
	if err := u.setDirTimes(); err != nil {
		return "", err
	}
	// Whatever follows the end-of-archive blocks is part of the DiffID.
	if _, err := io.Copy(io.Discard, tee); err != nil {
		return "", fmt.Errorf("reading layer tail: %w", err)
	}
	return d.Digest(), nil
}

type times struct{ atime, mtime time.Time }

// unpacker writes tar entries under root.
type unpacker struct {
	root   string
	opaque string // the opaque dir xattr's name
	// noDevices skips device nodes (a user namespace cannot make them).
	noDevices bool
	// dirTimes are applied last, since writing children changes them.
	dirTimes map[string]times
}

// cleanName turns an entry name into a clean relative slash path, "" for
// the root, and enforces the size limits.
func cleanName(name string) (string, error) {
	if len(name) > maxNameLen {
		return "", fmt.Errorf("name longer than %d bytes", maxNameLen)
	}
	rel := strings.TrimPrefix(path.Clean("/"+name), "/")
	if strings.Count(rel, "/") >= maxDepth {
		return "", fmt.Errorf("path deeper than %d levels", maxDepth)
	}
	return rel, nil
}

// resolve returns the host path for rel: its parent resolved inside root
// (created if missing), its final component unresolved.
func (u *unpacker) resolve(rel string) (string, error) {
	if rel == "" {
		return u.root, nil
	}
	dirRel, base := path.Split(rel)
	parent, err := u.resolveDir(dirRel)
	if err != nil {
		return "", err
	}
	return filepath.Join(parent, base), nil
}

// resolveDir resolves every component of rel inside root, symlinks included,
// and creates the directory if it is missing.
func (u *unpacker) resolveDir(rel string) (string, error) {
	p, err := securejoin.SecureJoin(u.root, rel)
	if err != nil {
		return "", fmt.Errorf("resolving directory %q: %w", rel, err)
	}
	if err := os.MkdirAll(p, 0o755); err != nil {
		return "", fmt.Errorf("creating directory %q: %w", rel, err)
	}
	return p, nil
}

// entry dispatches one tar entry.
func (u *unpacker) entry(hdr *tar.Header, r io.Reader) error {
	rel, err := cleanName(hdr.Name)
	if err != nil {
		return err
	}
	if len(hdr.Linkname) > maxNameLen {
		return fmt.Errorf("link target longer than %d bytes", maxNameLen)
	}
	if base := path.Base(rel); strings.HasPrefix(base, whiteoutPrefix) {
		return u.whiteout(path.Dir(rel), base)
	}
	if rel == "" && hdr.Typeflag != tar.TypeDir {
		return errors.New("the layer root must be a directory")
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		return u.dir(rel, hdr)
	case tar.TypeReg:
		return u.file(rel, hdr, r)
	case tar.TypeGNUSparse:
		// As BuildKit's and containerd's untar ("unhandled tar header
		// type 83"): expanding it would write every hole (10 KB of tar
		// giving a 5 GB file).
		return errors.New("a GNU sparse file (tar entry type 'S') is not supported, as in BuildKit")
	case tar.TypeSymlink, tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		return u.special(rel, hdr)
	case tar.TypeLink:
		return u.hardlink(rel, hdr.Linkname)
	case tar.TypeXGlobalHeader:
		return nil
	}
	return fmt.Errorf("unsupported entry type %q", hdr.Typeflag)
}

// whiteout turns an OCI whiteout marker in dirRel into overlay format.
func (u *unpacker) whiteout(dirRel, base string) error {
	if dirRel == "." {
		dirRel = ""
	}
	if base == opaqueMarker {
		p, err := u.resolveDir(dirRel)
		if err != nil {
			return err
		}
		if err := unix.Lsetxattr(p, u.opaque, []byte("y"), 0); err != nil {
			return fmt.Errorf("marking directory opaque: %w", err)
		}
		return nil
	}
	name := strings.TrimPrefix(base, whiteoutPrefix)
	if strings.HasPrefix(base, whiteoutMeta) || name == "" || name == "." || name == ".." {
		return fmt.Errorf("unsupported whiteout %q", base)
	}
	p, err := u.resolve(path.Join(dirRel, name))
	if err != nil {
		return err
	}
	if _, err := makeRoom(p, false); err != nil {
		return err
	}
	if err := unix.Mknod(p, unix.S_IFCHR, 0); err != nil {
		return fmt.Errorf("creating whiteout device: %w", err)
	}
	return nil
}
