package fshash

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	securejoin "github.com/cyphar/filepath-securejoin"
)

// match is one path a source selected.
type match struct {
	name string // slash path relative to root as written (wildcards expanded)
	abs  string // host path, resolved inside root
	rel  string // abs relative to root, for Excluded
}

// resolveSource expands wildcards segment by segment the way fsutil/copy
// does: the part before the first wildcard is resolved inside root following
// symlinks, the rest is matched against real directories only.
func resolveSource(root, src string, opts Options) ([]match, error) {
	// Join with "/" so "../../etc/passwd" cannot climb out of root.
	clean := filepath.Join("/", filepath.FromSlash(src))
	// "dir/" and "dir/." name the directory itself, so its link is followed.
	follow := opts.FollowLinks || strings.HasSuffix(src, "/") || strings.HasSuffix(src, "/.")
	segs := strings.Split(strings.TrimPrefix(clean, "/"), "/")
	i := 0
	for i < len(segs) && !hasWildcards(segs[i]) {
		i++
	}
	names := []string{path.Join(segs[:i]...)}
	if i < len(segs) {
		base, err := securejoin.SecureJoin(root, names[0])
		if err != nil {
			return nil, fmt.Errorf("resolving %s: %w", src, err)
		}
		names, err = expand(root, base, names[0], segs[i:], opts)
		if err != nil {
			return nil, fmt.Errorf("resolving %s: %w", src, err)
		}
		// A wildcard that matches nothing selects nothing: BuildKit's COPY
		// and ADD allow empty wildcards (AllowEmptyWildcard).
		if len(names) == 0 {
			return nil, nil
		}
	}
	out := make([]match, 0, len(names))
	for _, n := range names {
		m, err := resolveMatch(root, n, follow)
		if err != nil {
			if isNotFound(err) {
				return nil, &NotFoundError{Path: src}
			}
			return nil, fmt.Errorf("resolving %s: %w", src, err)
		}
		out = append(out, m)
	}
	return out, nil
}

// expand matches pattern segments against the entries of dir (a host path
// whose root-relative name is name), descending only into real directories.
func expand(root, dir, name string, pats []string, opts Options) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		if isNotFound(err) {
			return nil, nil
		}
		return nil, err
	}
	var out []string
	for _, de := range ents {
		if ok, _ := filepath.Match(pats[0], de.Name()); !ok {
			continue
		}
		abs := filepath.Join(dir, de.Name())
		rel, err := filepath.Rel(root, abs)
		if err != nil {
			return nil, err
		}
		isDir := de.IsDir()
		if opts.Excluded != nil && opts.Excluded(filepath.ToSlash(rel), isDir) && !(isDir && opts.DescendExcluded) {
			continue // absent from a transferred context
		}
		child := path.Join(name, de.Name())
		if len(pats) == 1 {
			out = append(out, child)
			continue
		}
		if !isDir {
			continue
		}
		sub, err := expand(root, abs, child, pats[1:], opts)
		if err != nil {
			return nil, err
		}
		out = append(out, sub...)
	}
	return out, nil
}

// resolveMatch finds the host path of name inside root; the last component
// is followed only if follow is set.
func resolveMatch(root, name string, follow bool) (match, error) {
	var abs string
	var err error
	if follow || name == "" {
		abs, err = securejoin.SecureJoin(root, name)
	} else {
		var dir string
		dir, err = securejoin.SecureJoin(root, path.Dir(name))
		abs = filepath.Join(dir, path.Base(name))
	}
	if err != nil {
		return match{}, err
	}
	if _, err := os.Lstat(abs); err != nil {
		return match{}, err
	}
	rel, err := filepath.Rel(root, abs)
	if err != nil {
		return match{}, err
	}
	if name == "" {
		name = "."
	}
	return match{name: name, abs: abs, rel: filepath.ToSlash(rel)}, nil
}

func hasWildcards(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '*', '?', '[':
			return true
		}
	}
	return false
}

func isNotFound(err error) bool {
	return errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}
