package executor

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/moby/buildkit/util/system"
)

func writeRootFile(t *testing.T, root, name, data string) {
	t.Helper()
	p := filepath.Join(root, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestResolveUser(t *testing.T) {
	root := t.TempDir()
	writeRootFile(t, root, "etc/passwd", "root:x:0:0::/root:/bin/sh\napp:x:1234:2345::/home/app:/bin/sh\n")
	writeRootFile(t, root, "etc/group", "root:x:0:\napp:x:2345:\nextra:x:3000:app\n")
	empty := t.TempDir()
	tests := []struct {
		root, user string
		want       string // "uid gid [sgids]" or "error"
	}{
		{root, "", "0 0 []"},
		{empty, "", "0 0 []"},
		{root, "app", "1234 2345 [3000]"},
		{root, "1234", "1234 2345 [3000]"},
		{root, "5000", "5000 0 []"},
		{empty, "5000", "5000 0 []"},
		{root, "app:extra", "1234 3000 []"},
		{root, "app:4000", "1234 4000 []"},
		{empty, "1:2", "1 2 []"},
		{root, "nosuch", "error"},
		{empty, "app", "error"},
		{root, "app:nosuch", "error"},
	}
	for _, tt := range tests {
		uid, gid, sgids, err := ResolveUser(tt.root, tt.user)
		got := fmt.Sprintf("%d %d %v", uid, gid, sgids)
		if err != nil {
			got = "error"
		}
		if got != tt.want {
			t.Errorf("ResolveUser(%q) = %s (%v), want %s", tt.user, got, err, tt.want)
		}
	}
}

// TestResolveUserStaysInRootfs: an absolute symlink in the image resolves
// inside the rootfs, never to the host's file.
func TestResolveUserStaysInRootfs(t *testing.T) {
	root := t.TempDir()
	writeRootFile(t, root, "alt/passwd", "img:x:77:88::/:/bin/sh\n")
	if err := os.Mkdir(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/alt/passwd", filepath.Join(root, "etc", "passwd")); err != nil {
		t.Fatal(err)
	}
	uid, gid, _, err := ResolveUser(root, "img")
	if err != nil || uid != 77 || gid != 88 {
		t.Fatalf("got %d %d %v, want 77 88", uid, gid, err)
	}
}

func TestHostsFile(t *testing.T) {
	got, err := hostsFile("box", []string{"db:10.0.0.2", "v6:fd00::1"})
	if err != nil {
		t.Fatal(err)
	}
	want := "127.0.0.1\tlocalhost box\n::1\tlocalhost ip6-localhost ip6-loopback\n10.0.0.2\tdb\nfd00::1\tv6\n"
	if string(got) != want {
		t.Errorf("hosts file\n%q\nwant\n%q", got, want)
	}
	for _, bad := range []string{"db", "db:nope", ":1.2.3.4"} {
		if _, err := hostsFile("box", []string{bad}); err == nil {
			t.Errorf("extra host %q accepted", bad)
		}
	}
}

func TestResolvConf(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		host       string
		privateNet bool
		want       string
	}{
		{"nameserver 127.0.0.53\noptions edns0\n", false, "nameserver 127.0.0.53\noptions edns0\n"},
		{"nameserver 127.0.0.53\noptions edns0\n", true, "options edns0\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n"},
		{"nameserver 10.0.0.1\nnameserver ::1\nsearch x\n", true, "nameserver 10.0.0.1\nsearch x\n"},
		{"", false, "nameserver 8.8.8.8\nnameserver 8.8.4.4\n"},
	}
	for i, tt := range tests {
		p := filepath.Join(dir, fmt.Sprint(i))
		os.WriteFile(p, []byte(tt.host), 0o644)
		got, err := resolvConf(p, tt.privateNet)
		if err != nil || string(got) != tt.want {
			t.Errorf("resolvConf(%q, %v) = %q, %v; want %q", tt.host, tt.privateNet, got, err, tt.want)
		}
	}
	if got, err := resolvConf(filepath.Join(dir, "missing"), false); err != nil || !strings.Contains(string(got), "8.8.8.8") {
		t.Errorf("missing host file: %q %v", got, err)
	}
}

func TestContainerID(t *testing.T) {
	valid := regexp.MustCompile(`^[\w+.-]+$`)
	for _, prefix := range []string{"", "stage/build step 3", strings.Repeat("x", 100), "../.."} {
		id := containerID(prefix)
		if !valid.MatchString(id) || len(id) > 60 {
			t.Errorf("containerID(%q) = %q", prefix, id)
		}
	}
	if a, b := containerID("a"), containerID("a"); a == b {
		t.Error("ids repeat")
	}
}

func TestDefaultPath(t *testing.T) {
	if got := withDefaultPath([]string{"A=1"}); strings.Join(got, " ") != "A=1 PATH="+system.DefaultPathEnvUnix {
		t.Errorf("got %v", got)
	}
	if got := withDefaultPath([]string{"PATH=/x"}); strings.Join(got, " ") != "PATH=/x" {
		t.Errorf("got %v", got)
	}
}
