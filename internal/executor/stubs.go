package executor

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	securejoin "github.com/cyphar/filepath-securejoin"
	"golang.org/x/sys/unix"
)

// stubs records what the runtime may create in the rootfs for mount points
// (BuildKit's MountStubsCleaner), so that it can be taken out of the overlay
// upperdir again and does not leak into the layer.
type stubs struct {
	// created are rootfs-relative paths missing before the run.
	created []string
	// copiedUp are existing directories above a stub that the overlay did not
	// yet hold in its upperdir; creating the stub copies them up.
	copiedUp map[string]os.FileInfo
}

// recordStubs notes, for every mount destination not nested in another one
// (those are created inside the parent mount, not the rootfs), which path
// components do not exist yet. Paths are resolved in the rootfs as runc
// resolves them, following symlinks inside it.
func recordStubs(rootfs, upper string, dests []string) (*stubs, error) {
	st := &stubs{copiedUp: map[string]os.FileInfo{}}
	for _, d := range dests {
		d = filepath.Join("/", d)
		if d == "/" || nestedInOther(d, dests) {
			continue
		}
		p, err := securejoin.SecureJoin(rootfs, d)
		if err != nil {
			return nil, fmt.Errorf("resolving mount point %s: %w", d, err)
		}
		for missing := false; p != rootfs; missing = true {
			fi, err := os.Lstat(p)
			if err == nil {
				if missing {
					st.noteExisting(rootfs, upper, p, fi)
				}
				break
			}
			if !errors.Is(err, os.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
				return nil, fmt.Errorf("checking mount point %s: %w", d, err)
			}
			st.created = append(st.created, rel(rootfs, p))
			p = filepath.Dir(p)
		}
	}
	return st, nil
}

// noteExisting records dir p and its ancestors that are not in upper yet.
func (st *stubs) noteExisting(rootfs, upper, p string, fi os.FileInfo) {
	if upper == "" {
		return
	}
	for ; p != rootfs; p = filepath.Dir(p) {
		r := rel(rootfs, p)
		if _, err := os.Lstat(filepath.Join(upper, r)); err == nil {
			return
		}
		if fi == nil {
			var err error
			if fi, err = os.Lstat(p); err != nil {
				return
			}
		}
		st.copiedUp[r] = fi
		fi = nil
	}
}

func nestedInOther(d string, dests []string) bool {
	for _, o := range dests {
		o = filepath.Join("/", o)
		if o != d && strings.HasPrefix(d, strings.TrimSuffix(o, "/")+"/") {
			return true
		}
	}
	return false
}

func rel(root, p string) string {
	r, _ := filepath.Rel(root, p)
	return r
}

// clean removes, deepest first, the recorded stubs that are still an empty
// file or directory in upper, then the copied-up directories that are left
// empty with their metadata unchanged. What the command changed stays.
func (st *stubs) clean(upper string) error {
	paths := append([]string(nil), st.created...)
	for p := range st.copiedUp {
		paths = append(paths, p)
	}
	sort.Slice(paths, func(i, j int) bool { return paths[i] > paths[j] })
	var errs []error
	for i, p := range paths {
		if i > 0 && paths[i-1] == p {
			continue
		}
		orig, copied := st.copiedUp[p]
		if err := removeStub(upper, p, orig, copied); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func removeStub(upper, p string, orig os.FileInfo, copied bool) error {
	full := filepath.Join(upper, p)
	// Never follow a symlink the command may have put in the upperdir.
	if real, err := securejoin.SecureJoin(upper, p); err != nil || real != full {
		return nil
	}
	fi, err := os.Lstat(full)
	if err != nil || !isEmpty(full, fi) {
		return nil
	}
	if copied && (!fi.IsDir() || !sameOwnerMode(fi, orig) || isOpaque(full)) {
		return nil
	}
	parent := filepath.Dir(full)
	pfi, perr := os.Stat(parent)
	if err := os.Remove(full); err != nil {
		return fmt.Errorf("removing mount stub %s: %w", p, err)
	}
	// Keep the parent's times for reproducible layers (moby/buildkit#3148).
	if perr == nil {
		if err := restoreTimes(parent, pfi); err != nil {
			return fmt.Errorf("restoring times of %s: %w", filepath.Dir(p), err)
		}
	}
	return nil
}

func isEmpty(p string, fi os.FileInfo) bool {
	switch {
	case fi.IsDir():
		entries, err := os.ReadDir(p)
		return err == nil && len(entries) == 0
	case fi.Mode().IsRegular():
		return fi.Size() == 0
	}
	return false
}

func sameOwnerMode(a, b os.FileInfo) bool {
	sa, ok1 := a.Sys().(*syscall.Stat_t)
	sb, ok2 := b.Sys().(*syscall.Stat_t)
	return ok1 && ok2 && sa.Mode == sb.Mode && sa.Uid == sb.Uid && sa.Gid == sb.Gid
}

// isOpaque reports an overlay opaque dir: removing it would bring back the
// lower layers' contents that the command deleted.
func isOpaque(p string) bool {
	buf := make([]byte, 1)
	for _, name := range []string{"trusted.overlay.opaque", "user.overlay.opaque"} {
		if n, err := unix.Lgetxattr(p, name, buf); err == nil && n == 1 && buf[0] == 'y' {
			return true
		}
	}
	return false
}

func restoreTimes(p string, fi os.FileInfo) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	ts := []unix.Timespec{unix.Timespec(st.Atim), unix.Timespec(st.Mtim)}
	return unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW)
}
