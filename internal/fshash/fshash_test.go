package fshash

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	digest "github.com/opencontainers/go-digest"
)

// writeTree creates files (content), directories (trailing "/") and
// symlinks ("-> target") under root.
func writeTree(t *testing.T, root string, tree map[string]string) {
	t.Helper()
	for name, v := range tree {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		switch {
		case name[len(name)-1] == '/':
			err := os.MkdirAll(p, 0o755)
			if err != nil {
				t.Fatal(err)
			}
		case len(v) > 3 && v[:3] == "-> ":
			if err := os.Symlink(v[3:], p); err != nil {
				t.Fatal(err)
			}
		default:
			if err := os.WriteFile(p, []byte(v), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func mustHash(t *testing.T, root string, srcs []string, opts Options) digest.Digest {
	t.Helper()
	d, err := Paths(context.Background(), root, srcs, opts)
	if err != nil {
		t.Fatalf("Paths(%v): %v", srcs, err)
	}
	return d
}

var baseTree = map[string]string{
	"app/main.go":     "package main",
	"app/sub/data":    "data",
	"app/sub/link":    "-> ../main.go",
	"app/skip.txt":    "ignored",
	"app/debug.log":   "log",
	"other.txt":       "other",
	"outside/secret":  "secret",
	"app/to-outside":  "-> ../outside",
	"app/sub/empty/":  "",
	"docs/a.txt":      "a",
	"docs/b.txt":      "b",
	"docs/c.md":       "c",
	"docs/nested/x.x": "x",
}

func baseOpts() Options {
	return Options{
		FollowLinks:     true,
		Excluded:        func(rel string, _ bool) bool { return rel == "app/skip.txt" },
		ExcludePatterns: []string{"*.log"},
	}
}

func TestPathsChanges(t *testing.T) {
	srcs := []string{"app", "docs/*.txt"}
	tests := []struct {
		name    string
		mutate  func(t *testing.T, root string)
		changes bool
	}{
		{"content", func(t *testing.T, r string) { write(t, r, "app/main.go", "package main2") }, true},
		{"same size content", func(t *testing.T, r string) { write(t, r, "app/main.go", "package maim") }, true},
		{"mode", func(t *testing.T, r string) { chmod(t, r, "app/main.go", 0o600) }, true},
		{"setuid", func(t *testing.T, r string) { chmod(t, r, "app/main.go", 0o644|os.ModeSetuid) }, true},
		{"sticky dir", func(t *testing.T, r string) { chmod(t, r, "app/sub", 0o755|os.ModeSticky) }, true},
		{"owner", func(t *testing.T, r string) { chown(t, r, "app/main.go", 1000, 1000) }, true},
		{"group", func(t *testing.T, r string) { chown(t, r, "app/sub/data", 0, 1000) }, true},
		{"symlink target", func(t *testing.T, r string) { relink(t, r, "app/sub/link", "../other") }, true},
		{"add file in dir", func(t *testing.T, r string) { write(t, r, "app/sub/empty/new", "") }, true},
		{"add wildcard match", func(t *testing.T, r string) { write(t, r, "docs/z.txt", "z") }, true},
		{"rename file", func(t *testing.T, r string) { rename(t, r, "app/sub/data", "app/sub/data2") }, true},
		{"remove file", func(t *testing.T, r string) { remove(t, r, "app/sub/data") }, true},
		{"wildcard match content", func(t *testing.T, r string) { write(t, r, "docs/a.txt", "A") }, true},
		{"mtime", func(t *testing.T, r string) { chtimes(t, r, "app/main.go") }, false},
		{"dir mtime", func(t *testing.T, r string) { chtimes(t, r, "app/sub") }, false},
		{"unselected file", func(t *testing.T, r string) { write(t, r, "other.txt", "changed") }, false},
		{"unmatched wildcard", func(t *testing.T, r string) { write(t, r, "docs/c.md", "changed") }, false},
		{"excluded file", func(t *testing.T, r string) { write(t, r, "app/skip.txt", "changed") }, false},
		{"exclude pattern", func(t *testing.T, r string) { write(t, r, "app/debug.log", "more log") }, false},
		{"add excluded file", func(t *testing.T, r string) { write(t, r, "app/new.log", "") }, false},
		{"target of nested link", func(t *testing.T, r string) { write(t, r, "outside/secret", "s2") }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			writeTree(t, root, baseTree)
			before := mustHash(t, root, srcs, baseOpts())
			tc.mutate(t, root)
			after := mustHash(t, root, srcs, baseOpts())
			if (before != after) != tc.changes {
				t.Errorf("digest changed = %v, want %v", before != after, tc.changes)
			}
		})
	}
}

func TestPathsDeterministic(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	writeTree(t, a, baseTree)
	writeTree(t, b, baseTree)
	chtimes(t, b, "app/main.go")
	chtimes(t, b, "app")
	if mustHash(t, a, []string{"."}, Options{}) != mustHash(t, b, []string{"."}, Options{}) {
		t.Fatal("identical trees hash differently")
	}
}

func TestPathsSelectionMatters(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{"a": "x", "b": "x"})
	da := mustHash(t, root, []string{"a"}, Options{})
	db := mustHash(t, root, []string{"b"}, Options{})
	dab := mustHash(t, root, []string{"a", "b"}, Options{})
	dstar := mustHash(t, root, []string{"*"}, Options{})
	if da == db || da == dab || dab == dstar {
		t.Fatalf("selections collide: %s %s %s %s", da, db, dab, dstar)
	}
}

func TestPathsNotFound(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, baseTree)
	for _, src := range []string{"missing", "app/main.go/x", "app/skip.txt"} {
		_, err := Paths(context.Background(), root, []string{src}, baseOpts())
		var nf *NotFoundError
		if !errors.As(err, &nf) || nf.Path != src {
			t.Errorf("Paths(%q) error = %v, want NotFoundError", src, err)
		}
	}
}

// A wildcard that matches nothing selects nothing, with no error, as
// BuildKit's COPY allows empty wildcards; the selection still differs from
// one that matches.
func TestPathsEmptyWildcard(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, baseTree)
	for _, src := range []string{"docs/*.go", "nope/*.txt"} {
		if _, err := Paths(context.Background(), root, []string{src}, baseOpts()); err != nil {
			t.Errorf("Paths(%q) error = %v, want none", src, err)
		}
	}
	if mustHash(t, root, []string{"docs/*.go", "app/main.go"}, baseOpts()) == mustHash(t, root, []string{"app/main.go"}, baseOpts()) {
		t.Error("an empty wildcard beside a source hashes as the source alone")
	}
}

func TestPathsTrailingSlashFollowsLink(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, baseTree)
	writeTree(t, root, map[string]string{"lnk": "-> app"})
	for _, src := range []string{"lnk/", "lnk/.", "./lnk/"} {
		before := mustHash(t, root, []string{src}, Options{})
		write(t, root, "app/main.go", "package "+src)
		if mustHash(t, root, []string{src}, Options{}) == before {
			t.Errorf("%q: content below the linked directory not hashed", src)
		}
	}
	// Without a trailing slash and FollowLinks, only the link itself counts.
	before := mustHash(t, root, []string{"lnk"}, Options{})
	write(t, root, "app/main.go", "package other")
	if mustHash(t, root, []string{"lnk"}, Options{}) != before {
		t.Error("unfollowed link hashed its target")
	}
}

func write(t *testing.T, root, name, content string) {
	t.Helper()
	p := filepath.Join(root, name)
	st, statErr := os.Stat(p)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if statErr == nil { // keep the mtime, so only content can tell
		if err := os.Chtimes(p, st.ModTime(), st.ModTime()); err != nil {
			t.Fatal(err)
		}
	}
}

func chmod(t *testing.T, root, name string, m os.FileMode) {
	t.Helper()
	if err := os.Chmod(filepath.Join(root, name), m); err != nil {
		t.Fatal(err)
	}
}

func chown(t *testing.T, root, name string, uid, gid int) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("chown needs root")
	}
	if err := os.Lchown(filepath.Join(root, name), uid, gid); err != nil {
		t.Fatal(err)
	}
}

func relink(t *testing.T, root, name, target string) {
	t.Helper()
	remove(t, root, name)
	if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
		t.Fatal(err)
	}
}

func rename(t *testing.T, root, from, to string) {
	t.Helper()
	if err := os.Rename(filepath.Join(root, from), filepath.Join(root, to)); err != nil {
		t.Fatal(err)
	}
}

func remove(t *testing.T, root, name string) {
	t.Helper()
	if err := os.Remove(filepath.Join(root, name)); err != nil {
		t.Fatal(err)
	}
}

func chtimes(t *testing.T, root, name string) {
	t.Helper()
	old := time.Date(2001, 2, 3, 4, 5, 6, 7, time.UTC)
	if err := os.Chtimes(filepath.Join(root, name), old, old); err != nil {
		t.Fatal(err)
	}
}

// countReads counts file-content reads for the duration of a test.
func countReads(t *testing.T) *atomic.Int64 {
	t.Helper()
	var n atomic.Int64
	testHookReadFile = func(string) { n.Add(1) }
	t.Cleanup(func() { testHookReadFile = nil })
	return &n
}
