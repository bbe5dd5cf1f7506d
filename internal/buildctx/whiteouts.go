package buildctx

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Whiteouts writes into dir an overlay layer that hides every ignored entry
// of the context: mounted read-only above the context (lowerdir=dir:root),
// it shows the context minus ignored files without copying or linking
// anything, so the context's inodes (and the stat cache's ctimes) stay
// untouched. Directories that hold whiteouts copy the context's metadata, as
// the topmost layer decides a merged directory's mode and owner.
func (c *Context) Whiteouts(ctx context.Context, dir string) error {
	if _, err := c.ignoreMatcher(); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	w := &whiteouter{ctx: ctx, c: c, dst: dir, exceptions: c.hasExceptions()}
	if _, err := w.dir("."); err != nil {
		return fmt.Errorf("hiding ignored files: %w", err)
	}
	// Entries created inside a directory move its mtime: set the context's
	// metadata last, deepest first.
	for i := len(w.made) - 1; i >= 0; i-- {
		st, err := lstat(filepath.Join(c.Root, w.made[i]))
		if err != nil {
			return err
		}
		if err := setMeta(filepath.Join(dir, w.made[i]), st, false); err != nil {
			return err
		}
	}
	return nil
}

type whiteouter struct {
	ctx        context.Context
	c          *Context
	dst        string
	exceptions bool
	made       []string // directories created to hold whiteouts, parents first
}

// dir walks the context directory rel, hiding its ignored entries, and
// reports whether anything below it stays visible.
func (w *whiteouter) dir(rel string) (bool, error) {
	if len(w.c.Ignore) == 0 {
		return true, nil
	}
	names, err := readDirNames(filepath.Join(w.c.Root, rel))
	if err != nil {
		return false, err
	}
	visible := false
	for _, n := range names {
		if err := w.ctx.Err(); err != nil {
			return false, err
		}
		child := path.Join(rel, n)
		shown, err := w.entry(child)
		if err != nil {
			return false, err
		}
		visible = visible || shown
	}
	return visible, nil
}

// entry hides child if it is ignored; an ignored directory with "!"
// exceptions below is kept only if something inside is re-included.
func (w *whiteouter) entry(child string) (bool, error) {
	st, err := lstat(filepath.Join(w.c.Root, child))
	if err != nil {
		return false, err
	}
	isDir := st.Mode&syscall.S_IFMT == syscall.S_IFDIR
	excluded := w.c.Excluded(child, isDir)
	switch {
	case excluded && !(isDir && w.exceptions):
		return false, w.hide(child)
	case isDir:
		shown, err := w.dir(child)
		if err != nil || shown || !excluded {
			return shown || !excluded, err
		}
		if err := w.forget(child); err != nil {
			return false, err
		}
		return false, w.hide(child)
	}
	return !excluded, nil
}

// forget drops what was made for whiteouts below rel, before rel itself is hidden.
func (w *whiteouter) forget(rel string) error {
	kept := w.made[:0]
	for _, m := range w.made {
		if m != rel && !strings.HasPrefix(m, rel+"/") {
			kept = append(kept, m)
		}
	}
	w.made = kept
	return os.RemoveAll(filepath.Join(w.dst, rel))
}

// hide puts a whiteout for rel, creating its parents with the context's metadata.
func (w *whiteouter) hide(rel string) error {
	if err := w.parents(path.Dir(rel)); err != nil {
		return err
	}
	return unix.Mknod(filepath.Join(w.dst, rel), unix.S_IFCHR, 0)
}

func (w *whiteouter) parents(rel string) error {
	if rel == "." {
		return nil
	}
	dst := filepath.Join(w.dst, rel)
	if _, err := os.Lstat(dst); err == nil {
		return nil
	}
	if err := w.parents(path.Dir(rel)); err != nil {
		return err
	}
	if err := os.Mkdir(dst, 0o700); err != nil {
		return err
	}
	w.made = append(w.made, rel)
	return nil
}
