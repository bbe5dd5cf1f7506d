package snapshot

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// restore makes rel (a slash path) under root what the overlay-format
// dirs (top first) make it: gone, or merged from every layer above the
// topmost one that cuts it off (a whiteout, a file or an opaque directory
// at one of rel's parents). It puts back what a step's emulated mount
// replaced; rel's parents are already as the layers have them.
func (m *merger) restore(dirs []string, root, rel string) error {
	dst := filepath.Join(root, filepath.FromSlash(rel))
	if err := removeAll(dst); err != nil {
		return err
	}
	parts := strings.Split(rel, "/")
	from := len(dirs) - 1 // the lowest layer that counts
cut:
	for i := range dirs {
		for j := 1; j < len(parts); j++ {
			gone, opaque, err := m.cuts(filepath.Join(dirs[i], filepath.Join(parts[:j]...)))
			if err != nil {
				return err
			}
			if gone || opaque {
				from = i
				if gone {
					from = i - 1
				}
				break cut
			}
		}
	}
	for i := from; i >= 0; i-- {
		src := filepath.Join(dirs[i], filepath.FromSlash(rel))
		if _, err := os.Lstat(src); errors.Is(err, fs.ErrNotExist) {
			continue
		} else if err != nil {
			return err
		}
		m.links = map[uint64]string{}
		if err := m.entry(src, dst); err != nil {
			return err
		}
	}
	return nil
}

// cuts says whether the layer's entry at p (a parent of the path being
// restored) removes what is below it (a whiteout or a non-directory) or
// hides the layers under it (an opaque directory).
func (m *merger) cuts(p string) (gone, opaque bool, err error) {
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
		return false, false, nil
	} else if err != nil {
		return false, false, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return true, false, nil
	}
	if v, _ := lgetxattr(p, m.opaque); string(v) == "y" {
		return false, true, nil
	}
	return false, false, nil
}
