package fshash

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// A symlink named by a source must resolve inside root, never to the host.
func TestPathsSymlinkStaysInRoot(t *testing.T) {
	if _, err := os.Stat("/etc/passwd"); err != nil {
		t.Skip("no /etc/passwd on host")
	}
	root := t.TempDir()
	writeTree(t, root, map[string]string{"abs": "-> /etc/passwd", "rel": "-> ../../../../../../etc/passwd"})
	opts := Options{FollowLinks: true}
	for _, src := range []string{"abs", "rel", "../../etc/passwd", "/etc/passwd"} {
		_, err := Paths(context.Background(), root, []string{src}, opts)
		var nf *NotFoundError
		if !errors.As(err, &nf) {
			t.Errorf("%q with no etc/passwd in root: err = %v, want NotFoundError", src, err)
		}
	}

	writeTree(t, root, map[string]string{"etc/passwd": "root-local"})
	ref := t.TempDir()
	writeTree(t, ref, map[string]string{"abs": "root-local"})
	want := mustHash(t, ref, []string{"abs"}, opts)
	if got := mustHash(t, root, []string{"abs"}, opts); got != want {
		t.Errorf("followed link hashed %s, want the in-root file %s", got, want)
	}
	host, err := os.ReadFile("/etc/passwd")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ref, "abs"), host, 0o644); err != nil {
		t.Fatal(err)
	}
	if mustHash(t, root, []string{"abs"}, opts) == mustHash(t, ref, []string{"abs"}, opts) {
		t.Error("followed link hashed the host's /etc/passwd")
	}
}

// A wildcard must not walk through a symlinked directory to outside root:
// it matches nothing there, as in a root without the link.
func TestPathsWildcardDoesNotEnterLinks(t *testing.T) {
	root, ref := t.TempDir(), t.TempDir()
	writeTree(t, root, map[string]string{"d/x.txt": "x", "e": "-> /etc"})
	writeTree(t, ref, map[string]string{"d/x.txt": "x"})
	opts := Options{FollowLinks: true}
	if mustHash(t, root, []string{"*/passwd"}, opts) != mustHash(t, ref, []string{"*/passwd"}, opts) {
		t.Error("the wildcard matched through the link to /etc")
	}
}
