// Package fshash computes content digests of paths selected the way COPY
// selects its sources. Digests cover content and metadata (type, mode, owner,
// symlink target) but never timestamps or inode numbers, so a fresh checkout
// of the same tree hashes the same.
package fshash

import (
	"context"
	"crypto/sha256"
	"fmt"
	"path"
	"path/filepath"

	"github.com/moby/patternmatcher"
	digest "github.com/opencontainers/go-digest"
)

// Options tune Paths.
type Options struct {
	// Record, if set, is told every hashed entry: its path (below the
	// source match) and a summary of what was hashed. --explain-cache uses it
	// to name the file that changed.
	Record func(rel, summary string)
	// FollowLinks follows a symlink named directly by a source (as COPY does);
	// symlinks below a selected directory are never followed.
	FollowLinks bool
	// Excluded reports whether a path (slash-separated, relative to root,
	// symlinks resolved) is left out, as .dockerignore does. An excluded path
	// named by a source is "not found", as it is absent from a transferred
	// context.
	Excluded func(rel string, isDir bool) bool
	// DescendExcluded walks into excluded directories to find entries that
	// Excluded re-includes (a "!" exception in .dockerignore).
	DescendExcluded bool
	// ExcludePatterns are COPY --exclude patterns, matched like fsutil/copy
	// does: against paths relative to each matched source.
	ExcludePatterns []string
	// Cache, if set, avoids re-reading unchanged files.
	Cache *StatCache
	// Owners, if set, maps the owners stat reports to the ones hashed and
	// cached: those a user namespace not yet entered will show.
	Owners func(uid, gid uint32) (uint32, uint32)
}

// NotFoundError reports a source that matched nothing.
type NotFoundError struct {
	Path string
}

func (e *NotFoundError) Error() string {
	return "file not found: " + e.Path
}

// version is the first record hashed, so any change to the encoding changes
// every digest instead of silently colliding with old ones.
const version = "kiln.fshash.v1"

// Paths returns one digest covering the selected paths under root: for each
// source, each match and every entry below it, in sorted order, its path
// relative to the match, type, mode (perm + setuid/setgid/sticky), uid, gid,
// symlink target, device number, and for regular files the sha256 of their
// content. Timestamps and inode numbers never enter it.
func Paths(ctx context.Context, root string, srcs []string, opts Options) (digest.Digest, error) {
	root, err := realRoot(root)
	if err != nil {
		return "", err
	}
	var excl *patternmatcher.PatternMatcher
	if len(opts.ExcludePatterns) > 0 {
		if excl, err = patternmatcher.New(opts.ExcludePatterns); err != nil {
			return "", fmt.Errorf("parsing exclude patterns: %w", err)
		}
	}
	h := sha256.New()
	enc := &encoder{w: h}
	enc.str(version)
	for _, src := range srcs {
		if err := hashSource(ctx, enc, root, src, opts, excl); err != nil {
			return "", err
		}
	}
	return digest.NewDigest(digest.SHA256, h), nil
}

func realRoot(root string) (string, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return "", fmt.Errorf("resolving root %s: %w", root, err)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", fmt.Errorf("resolving root %s: %w", root, err)
	}
	return real, nil
}

// hashSource hashes one source: its matches, each followed by its entries.
func hashSource(ctx context.Context, enc *encoder, root, src string, opts Options, excl *patternmatcher.PatternMatcher) error {
	matches, err := resolveSource(root, src, opts)
	if err != nil {
		return err
	}
	enc.str("src")
	enc.str(src)
	enc.u64(uint64(len(matches)))
	for _, m := range matches {
		w := &walker{ctx: ctx, root: root, opts: opts, excl: excl}
		if err := w.walkMatch(m, src); err != nil {
			return err
		}
		if err := hashContents(ctx, m.abs, w.entries, opts); err != nil {
			return err
		}
		enc.str("match")
		enc.str(m.name)
		enc.u64(uint64(len(w.entries)))
		for i := range w.entries {
			w.entries[i].encode(enc)
			if opts.Record != nil {
				opts.Record(path.Join(m.name, w.entries[i].rel), w.entries[i].summary())
			}
		}
	}
	return nil
}
