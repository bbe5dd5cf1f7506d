package harness

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// A clone hard-links files, makes directories anew with their mode, owner
// and xattrs, and keeps files the destination has.
func TestCloneTree(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	WriteFiles(t, src, map[string]string{"a/b/f": "f", "a/g": "g"})
	if err := os.Chmod(filepath.Join(src, "a", "b"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("b/f", filepath.Join(src, "a", "link")); err != nil {
		t.Fatal(err)
	}
	xattrs := unix.Lsetxattr(filepath.Join(src, "a"), "user.kiln", []byte("v"), 0) == nil
	WriteFiles(t, dst, map[string]string{"a/g": "kept"})
	if err := cloneTree(src, dst); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"a/b/f", "a/link"} {
		s, _ := os.Lstat(filepath.Join(src, p))
		d, err := os.Lstat(filepath.Join(dst, p))
		if err != nil || !os.SameFile(s, d) {
			t.Errorf("%s is not a hard link of the source's: %v", p, err)
		}
	}
	if data, _ := os.ReadFile(filepath.Join(dst, "a", "g")); string(data) != "kept" {
		t.Errorf("a/g = %q, want the destination's own file kept", data)
	}
	if fi, err := os.Stat(filepath.Join(dst, "a", "b")); err != nil || fi.Mode().Perm() != 0o750 {
		t.Errorf("a/b: %v %v, want mode 0750", fi, err)
	}
	if s, d := statOf(t, filepath.Join(src, "a")), statOf(t, filepath.Join(dst, "a")); os.SameFile(s, d) {
		t.Error("a directory was shared, not made anew")
	}
	if xattrs {
		if v, err := getXattr(filepath.Join(dst, "a"), "user.kiln"); err != nil || string(v) != "v" {
			t.Errorf("xattr user.kiln of a = %q, %v", v, err)
		}
	}
}

func statOf(t *testing.T, p string) os.FileInfo {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi
}

// A write through a hard link into a template is seen; replacing a file
// of a clone (as kiln's store does) is not a change.
func TestFingerprintSeesInPlaceWrites(t *testing.T) {
	tmpl, clone := t.TempDir(), t.TempDir()
	WriteFiles(t, tmpl, map[string]string{"blobs/sha256/x": "blob", "refs/r": "ref"})
	WriteFile(t, filepath.Join(tmpl, "lock"), "", 0o600)
	before, err := fingerprint(tmpl)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := before["lock"]; ok {
		t.Error("the store lock is fingerprinted")
	}
	if err := cloneStore(tmpl, clone); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(clone, "lock")); err == nil {
		t.Error("the store lock was cloned: two stores would share one lock")
	}
	tmp := filepath.Join(clone, "refs", "r.tmp")
	WriteFile(t, tmp, "new ref", 0o644)
	if err := os.Rename(tmp, filepath.Join(clone, "refs", "r")); err != nil {
		t.Fatal(err)
	}
	if now, _ := fingerprint(tmpl); firstDiff(before, now) != "" {
		t.Errorf("replacing a clone's file changed the template: %s", firstDiff(before, now))
	}
	f, err := os.OpenFile(filepath.Join(clone, "blobs", "sha256", "x"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("more")
	f.Close()
	if now, _ := fingerprint(tmpl); !strings.Contains(firstDiff(before, now), "blobs/sha256/x") {
		t.Errorf("an in-place write went unseen: %q", firstDiff(before, now))
	}
}

// A private store of busybox:test builds; the image model shows what the
// build made; the base's OCI tar and layout name it.
func TestStoreBuildsOnBase(t *testing.T) {
	t.Parallel()
	s := NewStore(t, Busybox)
	ctx := t.TempDir()
	WriteFiles(t, ctx, map[string]string{"f.txt": "from the context\n"})
	_, img := s.MustBuild(t, BuildSpec{Context: ctx, Tag: "h:1",
		Dockerfile: "FROM busybox:test\nCOPY --chown=5:6 f.txt /f.txt\nRUN ln -s /f.txt /l && echo hi > /hi\nUSER 5\n"})
	fsys := img.Files(t)
	if f := fsys["/f.txt"]; f.Type != "file" || f.UID != 5 || f.GID != 6 || f.Size != 17 {
		t.Errorf("/f.txt = %s", f)
	}
	if f := fsys["/l"]; f.Type != "symlink" || f.Link != "/f.txt" {
		t.Errorf("/l = %s", f)
	}
	if f := fsys["/bin/busybox"]; f.Type != "file" || f.Mode&0o111 == 0 {
		t.Errorf("/bin/busybox = %s", f)
	}
	if img.Config.Config.User != "5" || len(img.Config.History) < 4 {
		t.Errorf("config User %q, history %v", img.Config.Config.User, img.Config.History)
	}
	s.Verify(t)

	a := ReadArchive(t, Busybox.OCITar(t))
	if len(a.Images) != 1 || a.Images[0].Digest.String() != Busybox.Digest(t) || a.Images[0].Ref == "" {
		t.Errorf("busybox's OCI tar: %d images, %s (%s), want %s", len(a.Images), a.Images[0].Digest, a.Images[0].Ref, Busybox.Digest(t))
	}
	if _, err := os.Stat(filepath.Join(Busybox.OCILayout(t), "index.json")); err != nil {
		t.Error(err)
	}
}

// Two stores cloned from one template share the base's files, not their
// own: a build in one leaves the other and the template as they were.
func TestStoresAreIndependent(t *testing.T) {
	t.Parallel()
	a, b := NewStore(t, Busybox), NewStore(t, Busybox)
	ctx := t.TempDir()
	a.MustRun(t, "build", "-t", "only-a:1", "-f", writeDF(t, "FROM busybox:test\nRUN echo a > /a\n"), ctx)
	if r := b.MustRun(t, "images"); strings.Contains(r.Stdout, "only-a") {
		t.Errorf("store b sees store a's image:\n%s", r.Stdout)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Join(b.Root, "lock"), &st); err == nil && st.Nlink != 1 {
		t.Errorf("store b's lock has %d links", st.Nlink)
	}
	if err := checkTemplates(); err != nil {
		t.Error(err)
	}
}

func writeDF(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "Dockerfile")
	WriteFile(t, p, text, 0o644)
	return p
}

// A base pushed to a loopback registry is pulled back into an empty store
// with the same digest.
func TestRegistryPushPull(t *testing.T) {
	t.Parallel()
	reg := StartRegistry(t)
	ref := reg.Push(t, Busybox, "team/busybox:test")
	s := NewStore(t)
	s.Config = reg.Config(t, false)
	r := s.MustRun(t, "pull", ref)
	if got := strings.TrimSpace(r.Stdout); got != Busybox.Digest(t) {
		t.Errorf("pulled %s, the base is %s", got, Busybox.Digest(t))
	}
	if !strings.Contains(strings.Join(reg.Requests(), "\n"), "PUT /v2/team/busybox/manifests/test") {
		t.Errorf("the registry saw no manifest push:\n%s", strings.Join(reg.Requests(), "\n"))
	}
}
