package fshash

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"syscall"

	"github.com/moby/patternmatcher"
)

// walker collects the entries of one match, in sorted order.
type walker struct {
	ctx     context.Context
	root    string
	opts    Options
	excl    *patternmatcher.PatternMatcher
	entries []entry
}

// walkMatch walks one match. A match the ignore rules remove is reported as
// not found, as it would be missing from a transferred context.
func (w *walker) walkMatch(m match, src string) error {
	fi, err := os.Lstat(m.abs)
	if err != nil {
		if isNotFound(err) {
			return &NotFoundError{Path: src}
		}
		return fmt.Errorf("hashing %s: %w", src, err)
	}
	if w.ignored(m.rel, fi.IsDir()) && !(fi.IsDir() && w.opts.DescendExcluded) {
		return &NotFoundError{Path: src}
	}
	return w.walk(m.abs, m.rel, ".", patternmatcher.MatchInfo{})
}

func (w *walker) ignored(rootRel string, isDir bool) bool {
	return rootRel != "." && w.opts.Excluded != nil && w.opts.Excluded(rootRel, isDir)
}

// walk adds abs (rootRel relative to root, rel relative to the match) and,
// for a directory, everything below it. Excluded directories are still
// entered when an exception pattern may re-include something below, and then
// appear only if something below them does.
func (w *walker) walk(abs, rootRel, rel string, pmi patternmatcher.MatchInfo) error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	fi, err := os.Lstat(abs)
	if err != nil {
		return fmt.Errorf("hashing %s: %w", rootRel, err)
	}
	isDir := fi.IsDir()
	ignored := rel != "." && w.ignored(rootRel, isDir)
	descend := isDir && (!ignored || w.opts.DescendExcluded)
	var mi patternmatcher.MatchInfo
	if rel != "." && w.excl != nil {
		var m bool
		if m, mi, err = w.excl.MatchesUsingParentResults(rel, pmi); err != nil {
			return fmt.Errorf("matching exclude patterns: %w", err)
		}
		if m {
			ignored = true
			descend = descend && w.excl.Exclusions()
		}
	}
	en, err := newEntry(abs, rel, fi, w.opts.Owners)
	if err != nil {
		return err
	}
	at := len(w.entries)
	if !ignored {
		w.entries = append(w.entries, en)
	}
	if !descend {
		return nil
	}
	names, err := readDirNames(abs)
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := w.walk(filepath.Join(abs, n), path.Join(rootRel, n), path.Join(rel, n), mi); err != nil {
			return err
		}
	}
	if ignored && len(w.entries) > at {
		// A re-included child needs its parent directory.
		w.entries = slices.Insert(w.entries, at, en)
	}
	return nil
}

func readDirNames(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("reading directory: %w", err)
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("reading directory %s: %w", dir, err)
	}
	slices.Sort(names)
	return names, nil
}

// newEntry describes fi, its owners mapped by owners (Options.Owners).
func newEntry(abs, rel string, fi os.FileInfo, owners func(uid, gid uint32) (uint32, uint32)) (entry, error) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return entry{}, fmt.Errorf("hashing %s: no stat_t", abs)
	}
	key := keyOf(st)
	key.mapOwners(owners)
	en := entry{
		rel:  rel,
		mode: st.Mode & 0o7777,
		uid:  key.UID,
		gid:  key.GID,
		stat: key,
	}
	switch st.Mode & syscall.S_IFMT {
	case syscall.S_IFREG:
		en.typ = typeFile
	case syscall.S_IFDIR:
		en.typ = typeDir
	case syscall.S_IFLNK:
		en.typ = typeSymlink
		link, err := os.Readlink(abs)
		if err != nil {
			return entry{}, fmt.Errorf("reading link: %w", err)
		}
		en.link = link
	case syscall.S_IFIFO:
		en.typ = typeFifo
	case syscall.S_IFCHR:
		en.typ, en.rdev = typeChar, uint64(st.Rdev)
	case syscall.S_IFBLK:
		en.typ, en.rdev = typeBlock, uint64(st.Rdev)
	default:
		en.typ = typeSocket
	}
	return en, nil
}
