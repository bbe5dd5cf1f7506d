package snapshot

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// hostRoot is the builder container's own root filesystem, lent to one
// step at a time (kaniko's model, see OwnRoot): lend moves the container's
// files aside into a holding directory on the same filesystem (renames,
// no copies), the step's tree is copied in, and giveBack removes the tree
// and moves the container's files back. What kiln must not move or write
// is kept in place: every mount point under the root (/proc, /dev, /sys,
// the store's volume, the context, /etc/hosts where it is bound) and the
// paths kiln names. The directories above a kept path stay too (their
// metadata is recorded and given back), with only their other entries
// moved. A state file, written before anything moves, lets the next kiln
// give the root back after a crash.
type hostRoot struct {
	root  string          // "/" (a test lends a directory)
	keep  map[string]bool // slash paths relative to root, never moved or written
	above map[string]bool // the directories above a kept path ("" is root)
	lock  *os.File
}

const (
	heldName  = ".kiln-held"      // the container's files while a step holds the root
	lockName  = ".kiln-root.lock" // one lender at a time, across kiln processes
	stateName = "state.json"
)

// heldState is what giveBack needs after a crash: what was kept, and the
// metadata of the directories above it.
type heldState struct {
	// Phase: "moving" (only moved-out files to move back), "lent" (the
	// tree is there: clear it first), "cleared" (moving back).
	Phase string
	Keep  []string
	Above map[string]dirMeta
}

type dirMeta struct {
	Mode           uint32
	UID, GID       int
	Atime, Mtime   int64
	AtimeN, MtimeN int64
}

// newHostRoot finds what root must keep: its mount points and keep
// (absolute paths, under root or not).
func newHostRoot(root string, keep []string) (*hostRoot, error) {
	h := &hostRoot{root: root, keep: map[string]bool{heldName: true, lockName: true}}
	mounts, err := mountinfo.GetMounts(nil)
	if err != nil {
		return nil, fmt.Errorf("listing the container's mounts: %w", err)
	}
	for _, m := range mounts {
		keep = append(keep, m.Mountpoint)
	}
	for _, p := range keep {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		rel, err := filepath.Rel(root, p)
		if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, "../") {
			continue
		}
		h.keep[filepath.ToSlash(rel)] = true
	}
	h.computeAbove()
	return h, nil
}

// computeAbove drops the kept paths below another (a mount inside /proc is
// /proc's) and finds the directories above the rest.
func (h *hostRoot) computeAbove() {
	for k := range h.keep {
		for d := path.Dir(k); d != "."; d = path.Dir(d) {
			if h.keep[d] {
				delete(h.keep, k)
				break
			}
		}
	}
	h.above = map[string]bool{"": true}
	for k := range h.keep {
		for d := path.Dir(k); d != "."; d = path.Dir(d) {
			h.above[d] = true
		}
	}
}

func (h *hostRoot) abs(rel string) string { return filepath.Join(h.root, filepath.FromSlash(rel)) }
func (h *hostRoot) held(rel string) string {
	return filepath.Join(h.root, heldName, "root", filepath.FromSlash(rel))
}
func (h *hostRoot) statePath() string { return filepath.Join(h.root, heldName, stateName) }

// reserved says whether rel is kept, under a kept path or above one: what
// a step may not replace or write.
func (h *hostRoot) reserved(rel string) (kept, above bool) {
	rel = strings.Trim(path.Clean("/"+rel), "/")
	if h.above[rel] {
		return false, true
	}
	for p := rel; p != "." && p != ""; p = path.Dir(p) {
		if h.keep[p] {
			return true, false
		}
	}
	return false, false
}

// lend empties the root for a step: it takes the lock, gives back what a
// crashed kiln left lent, records the state, and moves the container's
// files aside.
func (h *hostRoot) lend() error {
	f, err := os.OpenFile(h.abs(lockName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("locking the container's root: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return fmt.Errorf("locking the container's root: %w", err)
	}
	h.lock = f
	if err := h.recover(); err != nil {
		h.unlock()
		return err
	}
	st, err := h.newState()
	if err != nil {
		h.unlock()
		return err
	}
	if err := os.MkdirAll(h.held(""), 0o700); err != nil {
		h.unlock()
		return err
	}
	if err := h.saveState(st); err != nil {
		h.unlock()
		return err
	}
	if err := h.moveOut(""); err != nil {
		return errors.Join(fmt.Errorf("moving the container's files aside: %w", err), h.giveBack())
	}
	st.Phase = "lent"
	if err := h.saveState(st); err != nil {
		return errors.Join(err, h.giveBack())
	}
	return nil
}

func (h *hostRoot) unlock() {
	if h.lock != nil {
		h.lock.Close()
		h.lock = nil
	}
}

// recover gives the root back as a crashed kiln's state file describes it.
func (h *hostRoot) recover() error {
	data, err := os.ReadFile(h.statePath())
	if errors.Is(err, fs.ErrNotExist) {
		return os.RemoveAll(h.abs(heldName)) // nothing was moved yet
	}
	if err != nil {
		return err
	}
	var st heldState
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("reading %s: %w", h.statePath(), err)
	}
	crashed := &hostRoot{root: h.root, keep: map[string]bool{}}
	for _, k := range st.Keep {
		crashed.keep[k] = true
	}
	crashed.computeAbove()
	if err := crashed.restore(st); err != nil {
		return fmt.Errorf("giving the container's root back after a crash (its files are in %s): %w", h.abs(heldName), err)
	}
	return nil
}

func (h *hostRoot) newState() (heldState, error) {
	st := heldState{Phase: "moving", Above: map[string]dirMeta{}}
	for k := range h.keep {
		st.Keep = append(st.Keep, k)
	}
	sort.Strings(st.Keep)
	for d := range h.above {
		var s unix.Stat_t
		if err := unix.Lstat(h.abs(d), &s); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return st, err
		}
		st.Above[d] = dirMeta{Mode: s.Mode & 0o7777, UID: int(s.Uid), GID: int(s.Gid),
			Atime: s.Atim.Sec, AtimeN: s.Atim.Nsec, Mtime: s.Mtim.Sec, MtimeN: s.Mtim.Nsec}
	}
	return st, nil
}

// saveState replaces the state file whole: a crash leaves the old or the
// new one.
func (h *hostRoot) saveState(st heldState) error {
	data, err := json.Marshal(st)
	if err != nil {
		return err
	}
	tmp := h.statePath() + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, h.statePath())
}

func (h *hostRoot) moveOut(rel string) error {
	entries, err := os.ReadDir(h.abs(rel))
	if err != nil {
		return err
	}
	for _, e := range entries {
		p := path.Join(rel, e.Name())
		switch {
		case h.keep[p]:
		case h.above[p]:
			if err := os.MkdirAll(h.held(p), 0o700); err != nil {
				return err
			}
			if err := h.moveOut(p); err != nil {
				return err
			}
		default:
			if err := os.Rename(h.abs(p), h.held(p)); err != nil {
				return err
			}
		}
	}
	return nil
}

// giveBack removes the step's tree and puts the container's files back.
func (h *hostRoot) giveBack() error {
	defer h.unlock()
	data, err := os.ReadFile(h.statePath())
	if err != nil {
		return fmt.Errorf("giving the container's root back: %w", err)
	}
	var st heldState
	if err := json.Unmarshal(data, &st); err != nil {
		return err
	}
	return h.restore(st)
}

func (h *hostRoot) restore(st heldState) error {
	var root unix.Stat_t
	if err := unix.Stat(h.root, &root); err != nil {
		return err
	}
	if st.Phase == "lent" {
		if err := h.clear("", uint64(root.Dev)); err != nil {
			return err
		}
		st.Phase = "cleared"
		if err := h.saveState(st); err != nil {
			return err
		}
	}
	if err := h.moveIn(""); err != nil {
		return err
	}
	for d, m := range st.Above {
		p := h.abs(d)
		if err := unix.Lchown(p, m.UID, m.GID); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		if err := unix.Chmod(p, m.Mode); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		ts := []unix.Timespec{{Sec: m.Atime, Nsec: m.AtimeN}, {Sec: m.Mtime, Nsec: m.MtimeN}}
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return os.RemoveAll(h.abs(heldName)) // empty directories and the state
}

// clear removes the tree's entries below rel, never crossing into another
// filesystem (a mount made while the step ran is not the tree's).
func (h *hostRoot) clear(rel string, dev uint64) error {
	entries, err := os.ReadDir(h.abs(rel))
	if err != nil {
		return err
	}
	for _, e := range entries {
		p := path.Join(rel, e.Name())
		switch {
		case h.keep[p]:
		case h.above[p]:
			if e.IsDir() {
				if err := h.clear(p, dev); err != nil {
					return err
				}
				continue
			}
			fallthrough
		default:
			if err := removeOnDevice(h.abs(p), dev); err != nil {
				return err
			}
		}
	}
	return nil
}

func removeOnDevice(p string, dev uint64) error {
	err := filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		var st unix.Stat_t
		if err := unix.Lstat(q, &st); err != nil {
			return err
		}
		if uint64(st.Dev) != dev {
			return fmt.Errorf("%s is another filesystem (mounted while a step held the root): not removed", q)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return os.RemoveAll(p)
}

func (h *hostRoot) moveIn(rel string) error {
	entries, err := os.ReadDir(h.held(rel))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		p := path.Join(rel, e.Name())
		if h.above[p] {
			if err := os.Mkdir(h.abs(p), 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
				return err // a step removed it: made again, its metadata restored below
			}
			if err := h.moveIn(p); err != nil {
				return err
			}
			continue
		}
		if err := os.Rename(h.held(p), h.abs(p)); err != nil {
			return err
		}
	}
	return nil
}
