package integration

import (
	"reflect"
	"strings"
	"testing"
)

func TestBasicsFilesystem(t *testing.T) {
	t.Parallel()
	runBasics(t, []basicCase{
		{
			name: "workdir",
			dockerfile: `FROM busybox:test
WORKDIR /plain/sub
RUN adduser -D -u 1500 app
USER app
WORKDIR /owned/sub
WORKDIR rel
RUN pwd > /tmp/pwd
`,
			check: func(t *testing.T, b *built) {
				b.ownedBy(t, "/plain/sub", 0, 0, 0o755)
				b.ownedBy(t, "/owned/sub/rel", 1500, 1500, 0)
				b.ownedBy(t, "/owned/sub", 1500, 1500, 0)
				b.fileIs(t, "/tmp/pwd", "/owned/sub/rel")
				if got := b.img.Config.Config.WorkingDir; got != "/owned/sub/rel" {
					t.Errorf("WorkingDir = %q, want /owned/sub/rel", got)
				}
			},
		},
		{
			name: "user by name for run",
			dockerfile: `FROM busybox:test
RUN addgroup -g 2000 grp && adduser -D -u 1500 -G grp app
USER app
RUN id -u > /tmp/uid && id -g > /tmp/gid && touch /tmp/made
USER 1600:1700
RUN id -u > /tmp/uid2 && id -g > /tmp/gid2
`,
			check: func(t *testing.T, b *built) {
				b.fileIs(t, "/tmp/uid", "1500")
				b.fileIs(t, "/tmp/gid", "2000")
				b.ownedBy(t, "/tmp/made", 1500, 2000, 0)
				b.fileIs(t, "/tmp/uid2", "1600")
				b.fileIs(t, "/tmp/gid2", "1700")
				if got := b.img.Config.Config.User; got != "1600:1700" {
					t.Errorf("User = %q, want 1600:1700", got)
				}
			},
		},
		{
			name:  "copy chown and chmod",
			files: map[string]string{"a.txt": "a\n"},
			dockerfile: `FROM busybox:test
RUN addgroup -g 2000 grp && adduser -D -u 1500 -G grp app
COPY --chown=app:grp a.txt /x/named.txt
COPY --chown=app a.txt /useronly.txt
COPY --chown=1600:1700 a.txt /ids.txt
COPY --chmod=0640 a.txt /mode.txt
COPY --chown=app:grp --chmod=755 a.txt /both.txt
`,
			check: func(t *testing.T, b *built) {
				b.ownedBy(t, "/x/named.txt", 1500, 2000, 0o644)
				b.ownedBy(t, "/useronly.txt", 1500, 2000, 0)
				b.ownedBy(t, "/ids.txt", 1600, 1700, 0)
				b.ownedBy(t, "/mode.txt", 0, 0, 0o640)
				b.ownedBy(t, "/both.txt", 1500, 2000, 0o755)
				b.fileIs(t, "/mode.txt", "a")
			},
		},
		{
			name: "copy wildcards and directories",
			files: map[string]string{
				"a1.txt": "1", "a2.txt": "2", "b.md": "b",
				"dir/f1": "f1", "dir/sub/f2": "f2",
			},
			dockerfile: `FROM busybox:test
COPY a*.txt /w/
COPY dir /d
COPY dir/ /d2/
COPY a1.txt /t/
COPY a1.txt /r
COPY a1.txt b.md /multi/
`,
			check: func(t *testing.T, b *built) {
				want := map[string][]string{
					"/w":     {"/w/a1.txt", "/w/a2.txt"},
					"/d":     {"/d/f1", "/d/sub", "/d/sub/f2"},
					"/d2":    {"/d2/f1", "/d2/sub", "/d2/sub/f2"},
					"/t":     {"/t/a1.txt"},
					"/multi": {"/multi/a1.txt", "/multi/b.md"},
				}
				for dir, w := range want {
					if got := listTree(t, b.rootfs, dir); !reflect.DeepEqual(got, w) {
						t.Errorf("%s holds %v, want %v", dir, got, w)
					}
				}
				if o := statPath(t, b.rootfs, "/r"); !o.mode.IsRegular() {
					t.Errorf("COPY a1.txt /r made %v, want a regular file", o.mode)
				}
				b.fileIs(t, "/r", "1")
			},
		},
		{
			name: "dockerignore",
			files: map[string]string{
				".dockerignore": "secret.txt\n*.log\n!keep.log\nskipdir\n",
				"a.txt":         "a", "secret.txt": "s", "x.log": "x", "keep.log": "k", "skipdir/f": "f",
			},
			dockerfile: "FROM busybox:test\nCOPY . /ctx/\n",
			check: func(t *testing.T, b *built) {
				b.present(t, map[string]bool{
					"/ctx/a.txt": true, "/ctx/keep.log": true,
					"/ctx/secret.txt": false, "/ctx/x.log": false, "/ctx/skipdir": false,
				})
			},
		},
		{
			name:       "network none",
			dockerfile: "FROM busybox:test\nRUN cat /proc/net/dev > /netdev\n",
			args:       []string{"--network", "none"},
			check: func(t *testing.T, b *built) {
				if got := interfaces(readImageFile(t, b.rootfs, "/netdev")); !reflect.DeepEqual(got, []string{"lo"}) {
					t.Fatalf("--network none: RUN saw interfaces %v, want only lo: the flag must put every RUN without its own --network in a fresh network namespace", got)
				}
			},
		},
		{
			name: "run exec form",
			dockerfile: `FROM busybox:test
ENV X=from-env
RUN ["/bin/touch", "/exec-ran"]
RUN ["/bin/sh", "-c", "echo \"$X $0\" > /exec-out", "arg0"]
`,
			check: func(t *testing.T, b *built) {
				b.present(t, map[string]bool{"/exec-ran": true})
				b.fileIs(t, "/exec-out", "from-env arg0")
			},
		},
	})
}

// interfaces lists the interface names in /proc/net/dev content.
func interfaces(netdev string) []string {
	var names []string
	for _, line := range strings.Split(netdev, "\n") {
		name, _, ok := strings.Cut(line, ":")
		if ok && !strings.Contains(name, "|") {
			names = append(names, strings.TrimSpace(name))
		}
	}
	return names
}
