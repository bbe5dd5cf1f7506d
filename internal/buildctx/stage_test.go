package buildctx

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	copypkg "github.com/tonistiigi/fsutil/copy"
)

var stageFiles = map[string]string{
	".dockerignore":    "*.secret\nvendor\n!vendor/keep\nempty-ignored\n",
	"app/main.go":      "package main",
	"app/run.sh":       "#!/bin/sh",
	"app/link":         "-> main.go",
	"escape":           "-> /etc/passwd",
	"escape-dir":       "-> /etc",
	"a.secret":         "s",
	"vendor/drop":      "d",
	"vendor/keep":      "k",
	"empty-ignored/x":  "x",
	"app/nested/deep/": "",
}

func stage(t *testing.T, copyOnly bool) (*Context, string) {
	t.Helper()
	c := loadCtx(t, clone(stageFiles))
	c.CopyOnly = copyOnly
	if err := os.Chmod(filepath.Join(c.Root, "app/run.sh"), 0o4755); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		if err := os.Lchown(filepath.Join(c.Root, "app/main.go"), 1234, 5678); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	for _, p := range []string{"app/main.go", "app/nested"} {
		if err := os.Chtimes(filepath.Join(c.Root, p), old, old); err != nil {
			t.Fatal(err)
		}
	}
	dst := filepath.Join(t.TempDir(), "stage")
	if err := c.Stage(context.Background(), dst); err != nil {
		t.Fatal(err)
	}
	return c, dst
}

func TestStage(t *testing.T) {
	for _, copyOnly := range []bool{false, true} {
		name := map[bool]string{false: "hardlink", true: "copy"}[copyOnly]
		t.Run(name, func(t *testing.T) {
			c, dst := stage(t, copyOnly)
			for _, p := range []string{"a.secret", "vendor/drop", "empty-ignored"} {
				if _, err := os.Lstat(filepath.Join(dst, p)); !os.IsNotExist(err) {
					t.Errorf("ignored %s staged (err %v)", p, err)
				}
			}
			for _, p := range []string{"Dockerfile", ".dockerignore", "vendor/keep", "app/nested/deep"} {
				if _, err := os.Lstat(filepath.Join(dst, p)); err != nil {
					t.Errorf("%s missing: %v", p, err)
				}
			}
			for link, want := range map[string]string{"app/link": "main.go", "escape": "/etc/passwd", "escape-dir": "/etc"} {
				if got, err := os.Readlink(filepath.Join(dst, link)); err != nil || got != want {
					t.Errorf("symlink %s = %q, %v; want %q", link, got, err, want)
				}
			}
			checkSameMeta(t, c.Root, dst, "app/main.go", "app/run.sh", "app/nested", "app/link")
			src, _ := lstatT(t, filepath.Join(c.Root, "app/main.go"))
			got, _ := lstatT(t, filepath.Join(dst, "app/main.go"))
			if sameInode := src.Ino == got.Ino; sameInode == copyOnly {
				t.Errorf("same inode = %v with CopyOnly = %v", sameInode, copyOnly)
			}
		})
	}
}

// The staged tree must work with BuildKit's copier as a real context would.
func TestStageWithCopier(t *testing.T) {
	_, dst := stage(t, true)
	out := t.TempDir()
	err := copypkg.Copy(context.Background(), dst, "app/*.go", out, "/dst/",
		copypkg.AllowWildcards, copypkg.WithExcludePattern("nothing"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(out, "dst/main.go"))
	if err != nil || string(b) != "package main" {
		t.Fatalf("copied main.go = %q, %v", b, err)
	}
	// Following "escape" inside the staged root must not reach the host file.
	if err := copypkg.Copy(context.Background(), dst, "escape", out, "/x", copypkg.WithCopyInfo(copypkg.CopyInfo{FollowLinks: true})); err == nil {
		t.Error("copying a symlink to /etc/passwd succeeded from a root without etc/passwd")
	}
}

func TestStageCopyPreservesHardlinks(t *testing.T) {
	c := loadCtx(t, map[string]string{"a": "x"})
	if err := os.Link(filepath.Join(c.Root, "a"), filepath.Join(c.Root, "b")); err != nil {
		t.Fatal(err)
	}
	c.CopyOnly = true
	dst := filepath.Join(t.TempDir(), "s")
	if err := c.Stage(context.Background(), dst); err != nil {
		t.Fatal(err)
	}
	a, _ := lstatT(t, filepath.Join(dst, "a"))
	b, _ := lstatT(t, filepath.Join(dst, "b"))
	src, _ := lstatT(t, filepath.Join(c.Root, "a"))
	if a.Ino != b.Ino || a.Ino == src.Ino {
		t.Errorf("inodes a=%d b=%d src=%d: want a copied once and b linked to it", a.Ino, b.Ino, src.Ino)
	}
}

func checkSameMeta(t *testing.T, root, dst string, rels ...string) {
	t.Helper()
	for _, rel := range rels {
		s, _ := lstatT(t, filepath.Join(root, rel))
		d, _ := lstatT(t, filepath.Join(dst, rel))
		if s.Mode != d.Mode || s.Uid != d.Uid || s.Gid != d.Gid || s.Mtim != d.Mtim {
			t.Errorf("%s: staged mode %o uid %d gid %d mtime %v, want %o %d %d %v",
				rel, d.Mode, d.Uid, d.Gid, d.Mtim, s.Mode, s.Uid, s.Gid, s.Mtim)
		}
	}
}

func lstatT(t *testing.T, p string) (*syscall.Stat_t, error) {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Lstat(p, &st); err != nil {
		t.Fatal(err)
	}
	return &st, nil
}
