package snapshot

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// restore gives a path back as the layers merge it: an opaque parent in a
// layer hides the layers below it, a whiteout of a parent removes it, and
// the layers above a cut still count.
func TestRestoreFollowsWhiteoutsAndOpaqueParents(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("whiteouts are device nodes: they need root")
	}
	m := newMerger(ContainerCaps)
	layerDir := func(files map[string]string, opaque, whiteout []string) string {
		d := t.TempDir()
		for rel, data := range files {
			write(t, d, rel, data)
		}
		for _, rel := range opaque {
			must(t, os.MkdirAll(filepath.Join(d, rel), 0o755))
			must(t, unix.Lsetxattr(filepath.Join(d, rel), m.opaque, []byte("y"), 0))
		}
		for _, rel := range whiteout {
			must(t, os.MkdirAll(filepath.Dir(filepath.Join(d, rel)), 0o755))
			must(t, unix.Mknod(filepath.Join(d, rel), unix.S_IFCHR, 0))
		}
		return d
	}
	l0 := layerDir(map[string]string{"a/b/c": "0", "a/b/keep": "0", "x/y": "0"}, nil, nil)
	l1 := layerDir(map[string]string{"a/b/c": "1"}, []string{"a"}, []string{"x"})
	l2 := layerDir(map[string]string{"a/b/d": "2"}, nil, nil)
	for name, tc := range map[string]struct {
		dirs      []string // top first
		rel       string
		want      map[string]string
		wantGone  []string
		wantNoRel bool
	}{
		"opaque parent":             {[]string{l1, l0}, "a/b", map[string]string{"a/b/c": "1"}, []string{"a/b/keep"}, false},
		"layer above an opaque cut": {[]string{l2, l1, l0}, "a/b", map[string]string{"a/b/c": "1", "a/b/d": "2"}, []string{"a/b/keep"}, false},
		"whiteout of a parent":      {[]string{l1, l0}, "x/y", nil, nil, true},
		"no cut":                    {[]string{l0}, "a/b", map[string]string{"a/b/c": "0", "a/b/keep": "0"}, nil, false},
	} {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			must(t, m.merge(tc.dirs, root))
			// What an emulated mount leaves at rel.
			must(t, os.RemoveAll(filepath.Join(root, tc.rel)))
			write(t, root, tc.rel+"/mounted", "m")
			must(t, m.restore(tc.dirs, root, tc.rel))
			for rel, want := range tc.want {
				wantFile(t, root, rel, want)
			}
			for _, rel := range append(tc.wantGone, tc.rel+"/mounted") {
				wantNoFile(t, root, rel)
			}
			if _, err := os.Lstat(filepath.Join(root, tc.rel)); tc.wantNoRel && !os.IsNotExist(err) {
				t.Errorf("%s is there: %v", tc.rel, err)
			}
		})
	}
}
