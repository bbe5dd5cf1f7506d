package integration

import (
	"testing"
)

// basicCase is one small Dockerfile on busybox:test and what its image
// must hold.
type basicCase struct {
	name       string
	files      map[string]string // the context
	dockerfile string
	args       []string // extra build flags
	env        []string // kiln's environment
	check      func(t *testing.T, b *built)
}

// built is a finished basic build: the image and its unpacked root.
type built struct {
	result
	img    *ociImage
	rootfs string
}

// runBasics builds each case in its own context and runs its check.
func runBasics(t *testing.T, cases []basicCase) {
	t.Helper()
	requireSuite(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := t.TempDir()
			writeFiles(t, ctx, c.files)
			r, img := mustBuild(t, buildSpec{Context: ctx, Dockerfile: c.dockerfile, Tag: "basic:t", Args: c.args, Env: c.env})
			defer func() {
				if t.Failed() {
					t.Logf("build output:\n%s", r)
				}
			}()
			c.check(t, &built{result: r, img: img, rootfs: img.Rootfs(t)})
		})
	}
}

// fileIs checks an image file's content.
func (b *built) fileIs(t *testing.T, path, want string) {
	t.Helper()
	if got := readImageFile(t, b.rootfs, path); got != want {
		t.Errorf("%s = %q, want %q", path, got, want)
	}
}

// ownedBy checks an image file's owner and, if perm is non-zero, its
// permission bits.
func (b *built) ownedBy(t *testing.T, path string, uid, gid uint32, perm uint32) {
	t.Helper()
	o := statPath(t, b.rootfs, path)
	if o.uid != uid || o.gid != gid {
		t.Errorf("%s owned %d:%d, want %d:%d", path, o.uid, o.gid, uid, gid)
	}
	if perm != 0 && uint32(o.mode.Perm()) != perm {
		t.Errorf("%s mode %o, want %o", path, o.mode.Perm(), perm)
	}
}

// present checks which paths exist in the image and which do not.
func (b *built) present(t *testing.T, want map[string]bool) {
	t.Helper()
	for p, w := range want {
		if got := exists(t, b.rootfs, p); got != w {
			t.Errorf("%s exists = %v, want %v", p, got, w)
		}
	}
}

// envHas reports whether the image config's Env holds kv (K=V).
func (b *built) envHas(kv string) bool {
	for _, e := range b.img.Config.Config.Env {
		if e == kv {
			return true
		}
	}
	return false
}
