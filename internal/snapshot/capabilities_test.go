package snapshot

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/isolation"
	"github.com/kiln-build/kiln/internal/store"
)

func xattr(p, name string) string {
	buf := make([]byte, 64)
	n, err := unix.Lgetxattr(p, name, buf)
	if err != nil {
		return ""
	}
	return string(buf[:n])
}

// A store shared by root and rootless runs: a layer directory made by one
// mode is unpacked again by the other, with that mode's opaque mark, and
// the view stays right in both.
func TestLayerDirOfAnotherModeIsUnpackedAgain(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("overlay mounts need root")
	}
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	root := NewOverlay(st, nil)
	// Root on a host may mount with userxattr too, so the rootless mode's
	// marks are exercised here without a user namespace.
	rootless := newOverlay(st, nil, RootlessCaps)

	l1 := commit(t, root, nil, func(r string) { write(t, r, "d/old", "1") })
	l2 := commit(t, root, []image.Layer{*l1}, func(r string) {
		if err := os.RemoveAll(filepath.Join(r, "d")); err != nil {
			t.Fatal(err)
		}
		write(t, r, "d/new", "2")
	})
	dir := st.LayerDir(l2.DiffID)
	if got := st.LayerDirMark(l2.DiffID); got != RootCaps.LayerMark() {
		t.Fatalf("root's commit marked %q, want %q", got, RootCaps.LayerMark())
	}
	if xattr(filepath.Join(dir, "d"), "trusted.overlay.opaque") != "y" {
		t.Fatal("root's commit did not keep d opaque")
	}

	for _, sn := range []*Overlay{rootless, root} {
		v := view(t, sn, []image.Layer{*l1, *l2})
		if _, ok := read(t, v.Root, "d/old"); ok {
			t.Errorf("%s: d/old shows through the opaque d", sn.caps.Mode)
		}
		if got, ok := read(t, v.Root, "d/new"); !ok || got != "2" {
			t.Errorf("%s: d/new = %q, %v", sn.caps.Mode, got, ok)
		}
		if got := st.LayerDirMark(l2.DiffID); got != sn.caps.LayerMark() {
			t.Errorf("%s: layer marked %q, want %q", sn.caps.Mode, got, sn.caps.LayerMark())
		}
		want := map[string]string{"user.overlay.opaque": "", "trusted.overlay.opaque": ""}
		want[sn.caps.XattrPrefix+"overlay.opaque"] = "y"
		for name, v := range want {
			if got := xattr(filepath.Join(dir, "d"), name); got != v {
				t.Errorf("%s: d's %s = %q, want %q", sn.caps.Mode, name, got, v)
			}
		}
	}
}

func TestCapabilitiesForMode(t *testing.T) {
	if c := CapabilitiesFor(isolation.Rootless); c.XattrPrefix != "user." || c.OverlayOptions != "userxattr,index=off" || c.Mknod || !c.Rootless {
		t.Errorf("rootless caps = %+v", c)
	}
	for _, m := range []isolation.Mode{isolation.Root, ""} {
		if c := CapabilitiesFor(m); c != RootCaps {
			t.Errorf("caps of %q = %+v, want root's", m, c)
		}
	}
}
