package snapshot

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/kiln-build/kiln/internal/layer"
)

// stamp is what a file's change is seen by: any write, chmod, chown,
// xattr or link count change sets the inode's ctime, which no process
// without CAP_SYS_TIME can set back; a new or replaced file has another
// inode, or the same number reused (ext4 does at once) with a later birth
// time.
type stamp struct {
	ino      uint64
	typ      uint32
	ctime    unix.Timespec
	btime    unix.StatxTimestamp // zero where the filesystem has none
	mode     uint32
	uid, gid uint32
}

// treeIndex is the stamp of every path of a step's tree before the step.
type treeIndex map[string]stamp

func stampOf(p string) (stamp, error) {
	var st unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, p, unix.AT_SYMLINK_NOFOLLOW, unix.STATX_BASIC_STATS|unix.STATX_BTIME, &st); err != nil {
		return stamp{}, err
	}
	s := stamp{ino: st.Ino, typ: uint32(st.Mode) & unix.S_IFMT, ctime: unix.Timespec{Sec: st.Ctime.Sec, Nsec: int64(st.Ctime.Nsec)},
		mode: uint32(st.Mode), uid: st.Uid, gid: st.Gid}
	if st.Mask&unix.STATX_BTIME != 0 {
		s.btime = st.Btime
	}
	return s, nil
}

// indexTree stamps every path under root, then waits until the
// filesystem's clock has moved past the newest stamp, so that a change
// made afterwards gets a ctime no stamp has. probe is a scratch file on
// the same filesystem. The paths in skip (and below them) are not indexed.
func indexTree(root, probe string, skip map[string]bool) (treeIndex, error) {
	idx := treeIndex{}
	var newest unix.Timespec
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if skip[rel] {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		s, err := stampOf(p)
		if err != nil {
			return err
		}
		idx[rel] = s
		if later(s.ctime, newest) {
			newest = s.ctime
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("indexing %s: %w", root, err)
	}
	return idx, waitPast(probe, newest)
}

func later(a, b unix.Timespec) bool {
	return a.Sec > b.Sec || a.Sec == b.Sec && a.Nsec > b.Nsec
}

// waitPast changes probe until its ctime is later than t: timestamps are
// taken from a coarse clock, and a change within the tick of the index
// would otherwise look like no change. It takes at most one tick.
func waitPast(probe string, t unix.Timespec) error {
	if err := os.WriteFile(probe, nil, 0o600); err != nil {
		return err
	}
	defer os.Remove(probe)
	for mode := uint32(0o600); ; mode ^= 0o200 {
		if err := unix.Chmod(probe, mode); err != nil {
			return err
		}
		var st unix.Stat_t
		if err := unix.Lstat(probe, &st); err != nil {
			return err
		}
		if later(st.Ctim, t) {
			return nil
		}
	}
}

// diffTree walks root against its index and lists the changes, as an
// overlay upper dir would hold them: new, replaced and changed entries
// with the directories above them, replaced directories opaque (their
// subtree written whole), and whiteouts for what is gone. Paths in hidden
// (and below them) are left as they were: an emulated mount's target. A
// directory above one is written for its changes (an entry, an owner, a
// mode) but not for the entry the target added, as root mode's stub
// cleanup leaves its parent.
func diffTree(root string, idx treeIndex, hidden map[string]bool) (*layer.Changes, error) {
	ch := &layer.Changes{Write: map[string]bool{}, Opaque: map[string]bool{}, Deleted: map[string][]string{}}
	seen := map[string]bool{"": true}
	aboveHidden := map[string]bool{}
	for h := range hidden {
		for p := path.Dir(h); p != "." && p != "/"; p = path.Dir(p) {
			aboveHidden[p] = true
		}
	}
	// whole: the subtrees written whole (new or replaced directories).
	whole := map[string]bool{}
	mark := func(rel string) {
		for p := rel; p != "." && p != "" && !ch.Write[p]; p = path.Dir(p) {
			ch.Write[p] = true
		}
	}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if rel == "." {
			return nil
		}
		if hidden[rel] {
			seen[rel] = true
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		seen[rel] = true
		if whole[path.Dir(rel)] {
			mark(rel)
			if d.IsDir() {
				whole[rel] = true
			}
			return nil
		}
		now, err := stampOf(p)
		if err != nil {
			return err
		}
		old, had := idx[rel]
		switch {
		case !had || old.ino != now.ino || old.typ != now.typ || old.btime != now.btime:
			mark(rel)
			if d.IsDir() {
				whole[rel] = true
				if had && old.typ == unix.S_IFDIR {
					ch.Opaque[rel] = true
				}
			}
		case old.ctime != now.ctime:
			if aboveHidden[rel] && old.mode == now.mode && old.uid == now.uid && old.gid == now.gid {
				break // only the target's entry changed it
			}
			mark(rel)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("finding the changes in %s: %w", root, err)
	}
	for rel := range idx {
		if seen[rel] || rel == "." {
			continue
		}
		dir := path.Dir(rel)
		if dir == "." {
			dir = ""
		}
		if !seen[dir] || whole[dir] || underHidden(rel, hidden) {
			continue // its directory is gone or replaced: covered there
		}
		ch.Deleted[dir] = append(ch.Deleted[dir], path.Base(rel))
		if dir != "" {
			mark(dir)
		}
	}
	return ch, nil
}

func underHidden(rel string, hidden map[string]bool) bool {
	for h := range hidden {
		if rel == h || strings.HasPrefix(rel, h+"/") {
			return true
		}
	}
	return false
}
