package buildctx

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func treeOf(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err == nil && p != root {
			rel, _ := filepath.Rel(root, p)
			out = append(out, rel+" "+fi.Mode().String())
		}
		return nil
	})
	sort.Strings(out)
	return out
}

// The overlay view (whiteouts over the context) shows exactly what a staged
// copy holds, for ignore files with and without "!" exceptions, and leaves
// the context's files untouched (ctime included).
func TestWhiteoutViewMatchesStage(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for overlay mounts")
	}
	for name, ignore := range map[string]string{
		"plain":      "node_modules\n*.log\nsecret.txt\n",
		"exceptions": "*.log\n!keep.log\nskipdir\nlogs/**\n!logs/keep/**\n",
		"none":       "",
	} {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			for _, f := range []string{"a.txt", "secret.txt", "x.log", "keep.log", "skipdir/f", "node_modules/m/i.js", "logs/a.log", "logs/keep/k.txt", "sub/deep/y.log", "sub/deep/z.txt"} {
				os.MkdirAll(filepath.Join(root, filepath.Dir(f)), 0o750)
				os.WriteFile(filepath.Join(root, f), []byte(f), 0o640)
			}
			os.WriteFile(filepath.Join(root, ".dockerignore"), []byte(ignore), 0o644)
			os.WriteFile(filepath.Join(root, "Dockerfile"), []byte("FROM scratch\n"), 0o644)
			c, err := Load(root, "")
			if err != nil {
				t.Fatal(err)
			}
			var before unix.Stat_t
			unix.Stat(filepath.Join(root, "a.txt"), &before)
			work := t.TempDir()
			if err := c.Whiteouts(context.Background(), filepath.Join(work, "wh")); err != nil {
				t.Fatal(err)
			}
			view := filepath.Join(work, "view")
			os.Mkdir(view, 0o755)
			if err := unix.Mount("overlay", view, "overlay", unix.MS_RDONLY, "lowerdir="+filepath.Join(work, "wh")+":"+root); err != nil {
				t.Fatal(err)
			}
			defer unix.Unmount(view, 0)
			treeOf(t, view) // read through the view before checking ctime
			var after unix.Stat_t
			unix.Stat(filepath.Join(root, "a.txt"), &after)
			if after.Ctim != before.Ctim {
				t.Fatal("making the view changed a context file's ctime")
			}
			staged := filepath.Join(work, "staged")
			if err := c.Stage(context.Background(), staged); err != nil {
				t.Fatal(err)
			}
			if got, want := strings.Join(treeOf(t, view), "\n"), strings.Join(treeOf(t, staged), "\n"); got != want {
				t.Fatalf("overlay view:\n%s\nstaged copy:\n%s", got, want)
			}
		})
	}
}
