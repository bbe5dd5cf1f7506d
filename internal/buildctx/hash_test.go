package buildctx

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/kiln-build/kiln/internal/fshash"
)

func loadCtx(t *testing.T, files map[string]string) *Context {
	t.Helper()
	dir := t.TempDir()
	files["Dockerfile"] = "FROM scratch"
	writeFiles(t, dir, files)
	c, err := Load(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var hashFiles = map[string]string{
	".dockerignore":       "secret.txt\nlogs\n*.tmp\n!keep.tmp\ncache\n!cache/keep\n",
	"main.go":             "package main",
	"secret.txt":          "s",
	"logs/a.log":          "a",
	"x.tmp":               "x",
	"keep.tmp":            "k",
	"cache/drop":          "d",
	"cache/keep":          "k",
	"pkg/util.go":         "package pkg",
	"pkg/util_test.go":    "package pkg",
	"pkg/testdata/golden": "g",
}

func TestHashIgnoresIgnored(t *testing.T) {
	tests := []struct {
		file    string
		changes bool
	}{
		{"main.go", true},
		{"keep.tmp", true},
		{"cache/keep", true},
		{"pkg/util.go", true},
		{"secret.txt", false},
		{"logs/a.log", false},
		{"logs/new", false},
		{"x.tmp", false},
		{"cache/drop", false},
		{"pkg/util_test.go", false}, // --exclude
		{"pkg/testdata/golden", false},
	}
	excludes := []string{"**/*_test.go", "**/testdata"}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			c := loadCtx(t, clone(hashFiles))
			ctx := context.Background()
			before, err := c.Hash(ctx, []string{"."}, excludes, true)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(c.Root, tc.file), []byte("changed!"), 0o644); err != nil {
				t.Fatal(err)
			}
			after, err := c.Hash(ctx, []string{"."}, excludes, true)
			if err != nil {
				t.Fatal(err)
			}
			if (before != after) != tc.changes {
				t.Errorf("digest changed = %v, want %v", before != after, tc.changes)
			}
		})
	}
}

func TestHashNotFound(t *testing.T) {
	c := loadCtx(t, clone(hashFiles))
	if _, err := c.Hash(context.Background(), []string{"*.nope"}, nil, true); err != nil {
		t.Errorf("Hash(*.nope) = %v: a wildcard matching nothing selects nothing", err)
	}
	for _, src := range []string{"secret.txt", "logs/a.log", "missing", "../../etc/passwd"} {
		_, err := c.Hash(context.Background(), []string{src}, nil, true)
		var nf *fshash.NotFoundError
		if !errors.As(err, &nf) || nf.Path != src {
			t.Errorf("Hash(%q) = %v, want NotFoundError", src, err)
		}
	}
	// A wildcard sees neither ignored files nor anything outside the context.
	d1, err := c.Hash(context.Background(), []string{"*.tmp"}, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(c.Root, "x.tmp"), []byte("other"), 0o644); err != nil {
		t.Fatal(err)
	}
	if d2, _ := c.Hash(context.Background(), []string{"*.tmp"}, nil, true); d1 != d2 {
		t.Error("ignored file changed a wildcard digest")
	}
}

func clone(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
