package layer

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// sandbox is a parent dir holding the unpack destination "root" and a
// sentinel file that hostile tars try to reach.
type sandbox struct {
	parent, root, sentinel string
	parentMode             uint32
}

func newSandbox(t testing.TB) sandbox {
	t.Helper()
	p := t.TempDir()
	s := sandbox{parent: p, root: filepath.Join(p, "root"), sentinel: filepath.Join(p, "sentinel")}
	if err := os.WriteFile(s.sentinel, []byte("orig"), 0o644); err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		t.Fatal(err)
	}
	s.parentMode = st.Mode
	return s
}

// assertConfined fails if anything next to root changed.
func (s sandbox) assertConfined(t testing.TB) {
	t.Helper()
	ents, err := os.ReadDir(s.parent)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"root", "sentinel"}) && !slices.Equal(names, []string{"sentinel"}) {
		t.Fatalf("unpack wrote outside its directory: %v", names)
	}
	var st unix.Stat_t
	if err := unix.Lstat(s.sentinel, &st); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(s.sentinel)
	x, _ := unix.Llistxattr(s.sentinel, nil)
	if string(b) != "orig" || st.Mode != unix.S_IFREG|0o644 || st.Nlink != 1 || st.Uid != 0 || x != 0 {
		t.Fatalf("sentinel touched: %q mode %o nlink %d uid %d xattrs %d", b, st.Mode, st.Nlink, st.Uid, x)
	}
	var pst unix.Stat_t
	if err := unix.Lstat(s.parent, &pst); err != nil {
		t.Fatal(err)
	}
	if v, _ := getXattr(s.parent, rootXattrs+opaqueXattr); v != nil || pst.Mode != s.parentMode {
		t.Fatalf("parent touched: mode %o opaque %q", pst.Mode, v)
	}
}

func TestUnpackHostile(t *testing.T) {
	requireRoot(t)
	var passwd unix.Stat_t
	must(t, unix.Lstat("/etc/passwd", &passwd))
	chmod := func(e tarEntry, mode int64) tarEntry { e.hdr.Mode = mode; return e }
	cases := []struct {
		name     string
		entries  []tarEntry // "$P" in names and link targets is the sandbox parent
		wantErr  string     // substring; "" means it must succeed
		confined string     // path under root that must exist afterwards
	}{
		{"dotdot", []tarEntry{reg("../evil", "x")}, "", "evil"},
		{"deep dotdot", []tarEntry{reg("a/../../../../sentinel", "x")}, "", "sentinel"},
		{"absolute", []tarEntry{reg("$P/sentinel", "x")}, "", "$P/sentinel"},
		{"absolute symlink parent", []tarEntry{symlink("a", "$P"), reg("a/sentinel", "x")}, "", "$P/sentinel"},
		{"relative symlink parent", []tarEntry{symlink("a", "../../.."), reg("a/sentinel", "x")}, "", "sentinel"},
		{"dir replaced by symlink", []tarEntry{dirEntry("d/"), symlink("d", "$P"), chmod(dirEntry("d/x/"), 0o777)}, "", "$P/x"},
		{"file over symlink", []tarEntry{symlink("f", "$P/sentinel"), reg("f", "x")}, "", "f"},
		{"dir over symlink", []tarEntry{symlink("f", "$P/sentinel"), chmod(dirEntry("f/"), 0o777)}, "", "f"},
		{"whiteout over symlink", []tarEntry{symlink("w", "$P/sentinel"), reg(".wh.w", "")}, "", "w"},
		{"opaque through symlink", []tarEntry{symlink("o", "$P"), reg("o/.wh..wh..opq", "")}, "", "$P"},
		{"hardlink dotdot", []tarEntry{hardlink("h", "../../etc/passwd")}, `unpacking entry "h"`, ""},
		{"hardlink through symlink", []tarEntry{symlink("l", "/etc"), hardlink("h", "l/passwd")}, `unpacking entry "h"`, ""},
		{"hardlink to symlink", []tarEntry{symlink("s", "$P/sentinel"), hardlink("h", "s")}, "", "h"},
		{"long name", []tarEntry{reg(strings.Repeat("a/", 2049)+"f", "")}, "longer than", ""},
		{"deep", []tarEntry{reg(strings.Repeat("a/", 1000)+"f", "")}, "deeper than", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newSandbox(t)
			var entries []tarEntry
			for _, e := range tc.entries {
				e.hdr.Name = strings.ReplaceAll(e.hdr.Name, "$P", s.parent)
				e.hdr.Linkname = strings.ReplaceAll(e.hdr.Linkname, "$P", s.parent)
				entries = append(entries, e)
			}
			_, err := Unpack(context.Background(), bytes.NewReader(makeTar(t, entries...)), s.root)
			if tc.wantErr == "" && err != nil {
				t.Errorf("unexpected error: %v", err)
			} else if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("want error containing %q, got %v", tc.wantErr, err)
			}
			s.assertConfined(t)
			if tc.confined != "" {
				p := filepath.Join(s.root, strings.ReplaceAll(tc.confined, "$P", s.parent))
				if _, err := os.Lstat(p); err != nil {
					t.Errorf("expected the entry confined at %s: %v", p, err)
				}
			}
		})
	}
	var after unix.Stat_t
	must(t, unix.Lstat("/etc/passwd", &after))
	if after.Nlink != passwd.Nlink {
		t.Fatalf("/etc/passwd gained a link")
	}
}
