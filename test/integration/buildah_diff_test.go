package integration

// The differential test against `buildah build` (issue 4): each small
// Dockerfile of buildahCases is built by kiln and by Debian's buildah, and
// the two images' final filesystems and configs are compared. Every
// difference must be listed, with the reason BuildKit's behaviour is the one
// kiln follows, in testdata/buildah-allowlist.md; a listed difference that
// no longer occurs fails the test too, so the list stays honest.
//
// It runs with KILN_TEST_BUILDAH=1 (.ci/run sets it): BuildKit is the
// reference kiln follows, and the BuildKit differential suite is the one
// `go test ./...` runs.

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/kiln-build/kiln/test/harness"
)

// buildahAllowlist is the checked-in list of known differences.
const buildahAllowlist = "testdata/buildah-allowlist.md"

// buildahTimeout bounds one buildah invocation.
const buildahTimeout = 3 * time.Minute

// buildahParallel bounds how many cases build at once.
const buildahParallel = 4

// buildahCase is one small Dockerfile built by both builders.
type buildahCase struct {
	name       string
	files      map[string]string              // the context (mode 0644)
	setup      func(t *testing.T, dir string) // more context: modes, archives
	dockerfile string
	args       []string // flags both builders take: --build-arg, --label, --target
	// docker makes buildah write a Docker-format image: with --format oci
	// it drops SHELL, HEALTHCHECK and ONBUILD (it warns "not supported for
	// OCI image format"), while BuildKit keeps them in its OCI config.
	// The config is then read from `buildah inspect`'s Docker config.
	docker bool
}

// buildahParents are built (and tagged) by both builders before the cases
// run, for the cases that use them as a base image.
var buildahParents = []buildahCase{
	{
		name:   "kiln-bd-onbuild:parent",
		files:  map[string]string{"a.txt": "parent a\n"},
		docker: true,
		dockerfile: `FROM busybox:test
ONBUILD RUN echo triggered > /trig && id -u >> /trig
ONBUILD COPY a.txt /onbuild-a.txt
ONBUILD ENV FROM_ONBUILD=yes
CMD ["/bin/sh"]
`,
	},
}

var buildahCases = []buildahCase{
	{
		name:  "from-scratch",
		files: map[string]string{"a.txt": "a\n", "dir/f": "f\n", "dir/sub/g": "g\n"},
		dockerfile: `FROM scratch
COPY a.txt /a.txt
COPY dir /dir
`,
	},
	{
		name:       "from-image",
		dockerfile: "FROM busybox:test\n",
	},
	{
		name: "from-stage",
		dockerfile: `FROM busybox:test AS base
RUN echo base > /base
ENV STAGE=base
CMD ["echo", "base"]
FROM base
RUN echo child > /child
ENTRYPOINT ["/bin/cat"]
`,
	},
	{
		name: "from-arg",
		dockerfile: `ARG BASE=busybox:test
FROM ${BASE}
ARG BASE
RUN echo "$BASE" > /base
`,
	},
	{
		name: "run-shell",
		dockerfile: `FROM busybox:test
RUN mkdir -p /r/d /r/sticky && echo hi > /r/f && chmod 4755 /r/f && \
    ln -s f /r/link && ln /r/f /r/hard && chmod 1777 /r/sticky && \
    echo owned > /r/owned && chown 12:34 /r/owned && chmod 2640 /r/owned && \
    mkfifo /r/fifo
RUN rm -f /etc/group /bin/vi && rm -rf /r/d && mkdir /r/d2 && echo x > /r/d2/x
RUN rm -rf /r/d2 && mkdir /r/d2 && echo y > /r/d2/y
`,
	},
	{
		name: "run-exec",
		dockerfile: `FROM busybox:test
ENV X=from-env
RUN ["/bin/touch", "/exec-ran"]
RUN ["/bin/sh", "-c", "echo \"$X $0\" > /exec-out", "arg0"]
`,
	},
	{
		name: "copy-from-stage",
		dockerfile: `FROM busybox:test AS b
RUN mkdir -p /out/sub && echo x > /out/f && chmod 600 /out/f && chown 5:6 /out/f && \
    ln -s f /out/link && chmod 700 /out/sub && echo y > /out/sub/y
FROM scratch
COPY --from=b /out /o
COPY --from=b /out/f /single
COPY --from=b /out/link /linkcopy
COPY --from=0 /out/sub/ /sub2/
`,
	},
	{
		name: "copy-from-image",
		dockerfile: `FROM scratch
COPY --from=busybox:test /etc/passwd /p
COPY --from=busybox:test /tmp /t
`,
	},
	{
		name:  "copy-chown-name",
		files: map[string]string{"a.txt": "a\n", "dir/f": "f\n"},
		dockerfile: `FROM busybox:test
RUN addgroup -g 2000 grp && adduser -D -u 1500 -G grp app
COPY --chown=app:grp a.txt /x/named.txt
COPY --chown=app a.txt /useronly.txt
COPY --chown=app:grp dir /ownedir
COPY --chown=1500:grp a.txt /mixed.txt
`,
	},
	{
		name:  "copy-chown-id",
		files: map[string]string{"a.txt": "a\n", "dir/f": "f\n"},
		dockerfile: `FROM busybox:test
COPY --chown=1600:1700 a.txt /ids.txt
COPY --chown=1600 a.txt /uidonly.txt
COPY --chown=1600:1700 dir /idsdir/
`,
	},
	{
		name:  "copy-chmod",
		files: map[string]string{"a.txt": "a\n", "dir/f": "f\n", "dir/sub/g": "g\n"},
		dockerfile: `FROM busybox:test
COPY --chmod=0640 a.txt /mode.txt
COPY --chmod=755 dir /modedir
COPY --chown=7:8 --chmod=4711 a.txt /both.txt
`,
	},
	{
		name:  "copy-wildcards",
		files: map[string]string{"a1.txt": "1", "a2.txt": "2", "b.md": "b", "dir1/f": "f1", "dir2/g": "g2", "q?.txt": "q"},
		dockerfile: `FROM busybox:test
COPY a*.txt /w/
COPY *.md dir* /m/
COPY a[12].txt /class/
COPY a?.txt /one/
`,
	},
	{
		name:  "copy-dirs",
		files: map[string]string{"a1.txt": "1", "b.md": "b", "dir/f1": "f1", "dir/sub/f2": "f2", "dir/sub/deeper/f3": "f3"},
		setup: func(t *testing.T, dir string) {
			mustChmod(t, filepath.Join(dir, "dir", "sub"), 0o750)
			mustChmod(t, filepath.Join(dir, "dir", "f1"), 0o755)
			mustSymlink(t, "f1", filepath.Join(dir, "dir", "ln"))
		},
		dockerfile: `FROM busybox:test
COPY dir /d
COPY dir/ /d2/
COPY a1.txt /t/
COPY a1.txt /r
COPY a1.txt /new/parents/
COPY a1.txt /tmp
COPY a1.txt b.md /multi/
COPY dir/sub /etc/
COPY . /all
`,
	},
	{
		name: "dockerignore",
		files: map[string]string{
			".dockerignore": "secret.txt\n*.log\n!keep.log\nskipdir\n**/*.tmp\n",
			"a.txt":         "a", "secret.txt": "s", "x.log": "x", "keep.log": "k", "skipdir/f": "f",
			"sub/y.tmp": "t", "sub/z.txt": "z",
		},
		dockerfile: "FROM busybox:test\nCOPY . /ctx/\nCOPY *.log /logs/\n",
	},
	{
		name:  "add-tar",
		setup: writeBuildahArchives,
		dockerfile: `FROM busybox:test
ADD archive.tar /x/
ADD archive.tar.gz /y
ADD archive.tar /tmp/
ADD --chown=3:4 archive.tar /z/
`,
	},
	{
		name:  "add-file",
		files: map[string]string{"plain.txt": "plain\n", "dir/f": "f\n", "notatar.tar": "not a tar\n"},
		setup: func(t *testing.T, dir string) {
			mustChmod(t, filepath.Join(dir, "plain.txt"), 0o700)
		},
		dockerfile: `FROM busybox:test
ADD plain.txt /p
ADD dir /ad
ADD notatar.tar /n/
ADD --chown=3:4 --chmod=640 plain.txt /pc
`,
	},
	{
		name: "env",
		dockerfile: `FROM busybox:test
ENV A=1 B="two words"
ENV C=$A-x D=${B:-none}
ENV PATH=/custom:$PATH
ENV E old-syntax value
RUN echo "$A|$B|$C|$D|$E|$PATH" > /env
`,
	},
	{
		name: "arg-build-arg",
		dockerfile: `ARG GLOBAL=g
FROM busybox:test
ARG X=def
ARG Y
ARG GLOBAL
ARG UNSET
ENV Z=$X-$Y-$GLOBAL
RUN echo "$X|$Y|$GLOBAL|$UNSET" > /args
`,
		args: []string{"--build-arg", "Y=yy", "--build-arg", "GLOBAL=over"},
	},
	{
		name:       "label",
		dockerfile: "FROM busybox:test\nLABEL a=1 \"b c\"=\"two words\"\nLABEL a=override\nLABEL multi=\"line\\\n two\"\n",
		args:       []string{"--label", "x=y"},
	},
	{
		name:       "expose",
		dockerfile: "FROM busybox:test\nARG P=8080\nEXPOSE 80 443/tcp 53/udp\nEXPOSE $P\n",
	},
	{
		name: "volume",
		// BuildKit's VOLUME only records the path (the directory is not
		// created), and a RUN may still write there.
		dockerfile: "FROM busybox:test\nVOLUME [\"/data\", \"/v2\"]\nVOLUME /v3 /v4\nRUN mkdir -p /data && echo after > /data/f\n",
	},
	{
		name: "user",
		dockerfile: `FROM busybox:test
RUN addgroup -g 2000 grp && adduser -D -u 1500 -G grp app
USER app
RUN id -u > /tmp/uid && id -g > /tmp/gid && touch /tmp/made
USER 1600:1700
RUN touch /tmp/made2
USER app:grp
`,
	},
	{
		name: "workdir",
		dockerfile: `FROM busybox:test
WORKDIR /plain/sub
RUN addgroup -g 2000 grp && adduser -D -u 1500 -G grp app
USER app
WORKDIR /owned/sub
WORKDIR rel
RUN pwd > /tmp/pwd
`,
	},
	{
		name:       "cmd-entrypoint-exec",
		dockerfile: "FROM busybox:test\nENTRYPOINT [\"/bin/echo\", \"a\"]\nCMD [\"b\", \"c d\"]\n",
	},
	{
		name:       "cmd-entrypoint-shell",
		dockerfile: "FROM busybox:test\nCMD echo first\nENTRYPOINT echo hi $HOME\n",
	},
	{
		name:       "cmd-only-shell",
		dockerfile: "FROM busybox:test\nENTRYPOINT [\"/bin/sh\"]\nCMD echo there\n",
	},
	{
		name:   "shell",
		docker: true,
		dockerfile: `FROM busybox:test
SHELL ["/bin/sh", "-ec"]
RUN echo "$0" > /shell0
ENTRYPOINT echo y
CMD echo x
`,
	},
	{
		name:       "stopsignal",
		dockerfile: "FROM busybox:test\nSTOPSIGNAL SIGINT\n",
	},
	{
		name:   "healthcheck",
		docker: true,
		dockerfile: `FROM busybox:test
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=4 CMD wget -q -O- localhost || exit 1
`,
	},
	{
		name:       "healthcheck-exec-none",
		docker:     true,
		dockerfile: "FROM busybox:test AS a\nHEALTHCHECK CMD [\"/bin/true\"]\nFROM a\nHEALTHCHECK NONE\n",
	},
	{
		name:   "onbuild-record",
		docker: true,
		dockerfile: `FROM busybox:test
ONBUILD RUN echo later
ONBUILD ADD . /app
`,
	},
	{
		name:       "onbuild-trigger",
		files:      map[string]string{"a.txt": "child a\n"},
		docker:     true,
		dockerfile: "FROM kiln-bd-onbuild:parent\nRUN echo child > /child\n",
	},
	{
		name: "multistage-target",
		dockerfile: `FROM busybox:test AS a
RUN echo a > /a
FROM a AS b
COPY --from=a /a /copied
RUN echo b > /b
LABEL stage=b
FROM busybox:test AS c
RUN echo c > /c
`,
		args: []string{"--target", "b"},
	},
}

func TestBuildahDifferential(t *testing.T) {
	t.Parallel()
	if os.Getenv("KILN_TEST_BUILDAH") != "1" {
		t.Skip("the buildah differential test runs with KILN_TEST_BUILDAH=1 (.ci/run sets it)")
	}
	harness.Require(t, prerequisites...)
	if _, err := exec.LookPath("buildah"); err != nil {
		t.Skip("needs buildah on PATH for the differential test (apt-get install buildah)")
	}
	requireSuite(t)
	start := time.Now()
	allow := readBuildahAllowlist(t)
	bh := newBuildah(t)

	// The base image: kiln's busybox:test, saved and pulled into buildah's
	// store under the same name.
	bb := filepath.Join(bh.dir, "busybox.tar")
	mustKiln(t, nil, "save", "-o", bb, busyboxImage)
	bh.must(t, "pull", "--quiet", "oci-archive:"+bb)
	bh.must(t, "tag", "docker.io/library/"+busyboxImage, "localhost/"+busyboxImage)

	for _, p := range buildahParents {
		ctx := buildahContext(t, p)
		mustBuild(t, buildSpec{Context: ctx, Dockerfile: p.dockerfile, Tag: p.name, Args: p.args})
		bh.build(t, p, ctx, p.name)
	}

	var (
		mu    sync.Mutex
		found = map[string][]string{} // allowlist key → the case's diff lines
		ran   = map[string]bool{}
	)
	sem := make(chan struct{}, buildahParallel)
	t.Run("cases", func(t *testing.T) {
		for _, c := range buildahCases {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				sem <- struct{}{}
				defer func() { <-sem }()
				diffs := buildahCompare(t, bh, c)
				mu.Lock()
				ran[c.name] = true
				mu.Unlock()
				for _, d := range diffs {
					key, ok := allow.match(c.name, d)
					if !ok {
						t.Errorf("difference not in %s:\n  | %s | %s | %s |\n  kiln:    %s\n  buildah: %s",
							buildahAllowlist, c.name, d.subject, d.kind, d.kiln, d.buildah)
						continue
					}
					mu.Lock()
					found[key] = append(found[key], c.name)
					mu.Unlock()
				}
			})
		}
	})
	for _, e := range allow.entries {
		if e.caseName != "*" && !ran[e.caseName] {
			continue // filtered out by -run
		}
		if e.caseName == "*" && len(ran) < len(buildahCases) {
			continue
		}
		if len(found[e.key()]) == 0 {
			t.Errorf("%s:%d lists | %s | %s | %s | but that difference no longer occurs: remove it",
				buildahAllowlist, e.line, e.caseName, e.subject, e.kind)
		}
	}
	t.Logf("buildah differential: %d cases in %v", len(ran), time.Since(start).Round(time.Second))
}

// buildahContext writes c's build context into a fresh directory.
func buildahContext(t *testing.T, c buildahCase) string {
	t.Helper()
	ctx := t.TempDir()
	writeFiles(t, ctx, c.files)
	if c.setup != nil {
		c.setup(t, ctx)
	}
	return ctx
}

// buildahCompare builds c with both builders and returns their differences.
func buildahCompare(t *testing.T, bh *buildah, c buildahCase) []buildahDiff {
	ctx := buildahContext(t, c)
	kr, ktar := build(t, buildSpec{Context: ctx, Dockerfile: c.dockerfile, Tag: "kiln-bd:" + c.name, Args: c.args})
	if kr.Code != 0 {
		t.Fatalf("kiln build failed:\n%s", kr)
	}
	kimg := readOCITar(t, ktar, kr)

	tag := "kiln-bd-" + c.name
	btar, bcfg := bh.build(t, c, ctx, tag)
	bimg := readOCITar(t, btar, result{Args: []string{"(buildah)"}})
	if c.docker {
		bimg.RawConfig = bcfg
	}

	var diffs []buildahDiff
	diffs = append(diffs, diffFS(imageFS(t, kimg), imageFS(t, bimg))...)
	diffs = append(diffs, diffConfig(kimg.RawConfig, bimg.RawConfig)...)
	return diffs
}

// buildah runs buildah on a store of its own.
type buildah struct {
	dir, root, runroot string
}

func newBuildah(t *testing.T) *buildah {
	t.Helper()
	dir := t.TempDir()
	bh := &buildah{dir: dir, root: filepath.Join(dir, "root"), runroot: filepath.Join(dir, "run")}
	t.Cleanup(func() {
		// Unmount what buildah left mounted before t.TempDir's removal.
		_ = exec.Command("buildah", bh.global("rm", "--all")...).Run()
		_ = exec.Command("umount", "-R", "-l", filepath.Join(bh.root, "overlay")).Run()
		_ = exec.Command("umount", "-l", filepath.Join(bh.root, "overlay")).Run()
	})
	return bh
}

func (bh *buildah) global(args ...string) []string {
	return append([]string{"--root", bh.root, "--runroot", bh.runroot, "--storage-driver", "overlay"}, args...)
}

// must runs buildah and fails the test unless it exits 0; it returns stdout.
func (bh *buildah) must(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), buildahTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "buildah", bh.global(args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("buildah %s: %v\n--- stdout ---\n%s\n--- stderr ---\n%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// build builds c with buildah as tag and pushes it to an OCI archive; it
// returns the archive and, for Docker-format builds, the Docker config (as
// `buildah inspect` shows it, which keeps Shell, Healthcheck and OnBuild).
func (bh *buildah) build(t *testing.T, c buildahCase, ctx, tag string) (string, map[string]any) {
	t.Helper()
	dir := t.TempDir()
	df := filepath.Join(dir, "Dockerfile")
	writeFile(t, df, c.dockerfile, 0o644)
	format := "oci"
	if c.docker {
		format = "docker"
	}
	args := []string{"build", "--layers", "--format", format, "--pull=never", "-f", df, "-t", tag}
	args = append(args, c.args...)
	bh.must(t, append(args, ctx)...)
	out := filepath.Join(dir, "buildah.tar")
	bh.must(t, "push", "--quiet", tag, "oci-archive:"+out)
	if !c.docker {
		return out, nil
	}
	var inspect struct {
		Docker map[string]any
	}
	if err := json.Unmarshal([]byte(bh.must(t, "inspect", "--type", "image", tag)), &inspect); err != nil {
		t.Fatalf("buildah inspect %s: %v", tag, err)
	}
	return out, inspect.Docker
}

// fsNode is one path of an image's final filesystem, mtime left out.
type fsNode struct {
	typ      string
	mode     int64 // permission and special bits
	uid, gid int
	link     string // symlink target
	sum      string // regular files: sha256 of the content
}

// imageFS applies img's layers in order (whiteouts and opaque directories
// included) and returns the final filesystem by path.
func imageFS(t *testing.T, img *ociImage) map[string]fsNode {
	t.Helper()
	fsys := map[string]fsNode{}
	for _, l := range img.Manifest.Layers {
		entries := buildahLayerTar(t, img.Blob(l.Digest))
		names := make([]string, 0, len(entries))
		for name := range entries {
			names = append(names, name)
		}
		sort.Strings(names)
		// Whiteouts first: they remove what lower layers hold.
		for _, name := range names {
			dir, base := path.Split(name)
			dir = path.Clean(dir)
			switch {
			case base == ".wh..wh..opq":
				removeTree(fsys, dir, false)
			case strings.HasPrefix(base, ".wh."):
				removeTree(fsys, path.Join(dir, strings.TrimPrefix(base, ".wh.")), true)
			}
		}
		var hardlinks []string
		for _, name := range names {
			if strings.HasPrefix(path.Base(name), ".wh.") {
				continue
			}
			e := entries[name]
			n := fsNode{mode: e.hdr.Mode & 0o7777, uid: e.hdr.Uid, gid: e.hdr.Gid}
			switch e.hdr.Typeflag {
			case tar.TypeReg: // the reader turns the legacy TypeRegA into TypeReg
				sum := sha256.Sum256(e.data)
				n.typ, n.sum = "file", hex.EncodeToString(sum[:])
			case tar.TypeDir:
				n.typ = "dir"
			case tar.TypeSymlink:
				n.typ, n.link = "symlink", e.hdr.Linkname
			case tar.TypeLink:
				hardlinks = append(hardlinks, name)
				continue
			case tar.TypeFifo:
				n.typ = "fifo"
			case tar.TypeChar, tar.TypeBlock:
				n.typ = fmt.Sprintf("dev%c %d:%d", e.hdr.Typeflag, e.hdr.Devmajor, e.hdr.Devminor)
			default:
				n.typ = fmt.Sprintf("type%c", e.hdr.Typeflag)
			}
			if name != "/" && e.hdr.Typeflag != tar.TypeDir {
				removeTree(fsys, name, false) // a file replacing a directory
			}
			fsys[name] = n
		}
		// A hard link is compared as the file it links to.
		for _, name := range hardlinks {
			target := "/" + strings.TrimPrefix(strings.TrimPrefix(entries[name].hdr.Linkname, "./"), "/")
			n, ok := fsys[target]
			if !ok {
				t.Errorf("layer %s: hard link %s to %s, which is missing", l.Digest, name, target)
				continue
			}
			fsys[name] = n
		}
	}
	delete(fsys, "/")
	return fsys
}

// removeTree deletes p's descendants from fsys, and p too if self.
func removeTree(fsys map[string]fsNode, p string, self bool) {
	if self {
		delete(fsys, p)
	}
	prefix := strings.TrimSuffix(p, "/") + "/"
	for name := range fsys {
		if strings.HasPrefix(name, prefix) {
			delete(fsys, name)
		}
	}
}

// buildahDiff is one difference between kiln's image and buildah's.
type buildahDiff struct {
	subject string // a path, or config.<Field>
	kind    string // only-kiln, only-buildah, type, mode, owner, link, content; value for config
	kiln    string
	buildah string
}

func diffFS(k, b map[string]fsNode) []buildahDiff {
	var diffs []buildahDiff
	paths := map[string]bool{}
	for p := range k {
		paths[p] = true
	}
	for p := range b {
		paths[p] = true
	}
	sorted := make([]string, 0, len(paths))
	for p := range paths {
		sorted = append(sorted, p)
	}
	sort.Strings(sorted)
	for _, p := range sorted {
		kn, kok := k[p]
		bn, bok := b[p]
		switch {
		case !bok:
			diffs = append(diffs, buildahDiff{p, "only-kiln", kn.String(), "absent"})
			continue
		case !kok:
			diffs = append(diffs, buildahDiff{p, "only-buildah", "absent", bn.String()})
			continue
		}
		add := func(kind string, kv, bv any) {
			diffs = append(diffs, buildahDiff{p, kind, fmt.Sprint(kv), fmt.Sprint(bv)})
		}
		if kn.typ != bn.typ {
			add("type", kn.typ, bn.typ)
			continue
		}
		if kn.mode != bn.mode {
			add("mode", fmt.Sprintf("%04o", kn.mode), fmt.Sprintf("%04o", bn.mode))
		}
		if kn.uid != bn.uid || kn.gid != bn.gid {
			add("owner", fmt.Sprintf("%d:%d", kn.uid, kn.gid), fmt.Sprintf("%d:%d", bn.uid, bn.gid))
		}
		if kn.link != bn.link {
			add("link", kn.link, bn.link)
		}
		if kn.sum != bn.sum {
			add("content", kn.sum, bn.sum)
		}
	}
	return diffs
}

func (n fsNode) String() string {
	s := fmt.Sprintf("%s %04o %d:%d", n.typ, n.mode, n.uid, n.gid)
	if n.link != "" {
		s += " -> " + n.link
	}
	if n.sum != "" {
		s += " sha256:" + n.sum[:12]
	}
	return s
}

// buildahConfigFields are the config fields compared, as the image
// config's JSON names them.
var buildahConfigFields = []string{
	"Env", "Cmd", "Entrypoint", "WorkingDir", "User", "ExposedPorts", "Volumes",
	"Labels", "StopSignal", "Shell", "Healthcheck", "OnBuild",
}

// diffConfig compares the fields both images' configs should agree on.
// Empty values (null, [], {}, "") are alike; buildah's io.buildah.version
// label is left out.
func diffConfig(k, b map[string]any) []buildahDiff {
	var diffs []buildahDiff
	for _, f := range []string{"os", "architecture", "variant"} {
		if kv, bv := canonJSON(k[f]), canonJSON(b[f]); kv != bv {
			diffs = append(diffs, buildahDiff{"config." + f, "value", kv, bv})
		}
	}
	kc, _ := k["config"].(map[string]any)
	bc, _ := b["config"].(map[string]any)
	for _, f := range buildahConfigFields {
		kv, bv := kc[f], bc[f]
		if f == "Labels" {
			if m, ok := bv.(map[string]any); ok {
				delete(m, "io.buildah.version")
			}
		}
		if ks, bs := canonJSON(kv), canonJSON(bv); ks != bs {
			diffs = append(diffs, buildahDiff{"config." + f, "value", ks, bs})
		}
	}
	return diffs
}

// canonJSON encodes v canonically (map keys sorted), with empty values as "".
func canonJSON(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		if x == "" {
			return ""
		}
	case []any:
		if len(x) == 0 {
			return ""
		}
	case map[string]any:
		if len(x) == 0 {
			return ""
		}
	}
	data, _ := json.Marshal(v) // encoding/json sorts map keys
	return string(data)
}

// buildahAllow is the parsed allowlist.
type buildahAllow struct {
	entries []allowEntry
}

type allowEntry struct {
	caseName, subject, kind string
	line                    int
}

func (e allowEntry) key() string { return e.caseName + "|" + e.subject + "|" + e.kind }

// match returns the allowlist key of the entry that lists d for caseName.
func (a *buildahAllow) match(caseName string, d buildahDiff) (string, bool) {
	for _, e := range a.entries {
		if (e.caseName == caseName || e.caseName == "*") && e.subject == d.subject && e.kind == d.kind {
			return e.key(), true
		}
	}
	return "", false
}

// readBuildahAllowlist reads the table rows of the allowlist: the first
// three cells of each are the case (or *), the path or config field, and
// the kind of difference; the last cell says why.
func readBuildahAllowlist(t *testing.T) *buildahAllow {
	t.Helper()
	f, err := os.Open(buildahAllowlist)
	if err != nil {
		t.Fatalf("the allowlist: %v", err)
	}
	defer f.Close()
	a := &buildahAllow{}
	names := map[string]bool{"*": true}
	for _, c := range buildahCases {
		names[c.name] = true
	}
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(text, "|") {
			continue
		}
		cells := strings.Split(strings.Trim(text, "|"), "|")
		for i := range cells {
			cells[i] = strings.Trim(strings.TrimSpace(cells[i]), "`")
		}
		if len(cells) < 4 || cells[0] == "case" || strings.HasPrefix(cells[0], "---") {
			continue
		}
		if !names[cells[0]] {
			t.Errorf("%s:%d: no case is named %q", buildahAllowlist, line, cells[0])
		}
		if cells[len(cells)-1] == "" {
			t.Errorf("%s:%d: the entry says not why", buildahAllowlist, line)
		}
		a.entries = append(a.entries, allowEntry{caseName: cells[0], subject: cells[1], kind: cells[2], line: line})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return a
}

// writeBuildahArchives writes archive.tar and archive.tar.gz into dir:
// files with several modes and owners, a directory, a symlink, a hard link.
func writeBuildahArchives(t *testing.T, dir string) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mtime := time.Unix(1700000000, 0)
	add := func(h *tar.Header, body string) {
		h.ModTime = mtime
		h.Size = int64(len(body))
		if h.Typeflag != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write([]byte(body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	add(&tar.Header{Name: "top/", Typeflag: tar.TypeDir, Mode: 0o750, Uid: 11, Gid: 22}, "")
	add(&tar.Header{Name: "top/exec", Typeflag: tar.TypeReg, Mode: 0o755, Uid: 33, Gid: 44}, "#!/bin/sh\n")
	add(&tar.Header{Name: "top/secret", Typeflag: tar.TypeReg, Mode: 0o600, Uid: 1000, Gid: 1000}, "s\n")
	add(&tar.Header{Name: "top/suid", Typeflag: tar.TypeReg, Mode: 0o4755}, "suid\n")
	add(&tar.Header{Name: "top/link", Typeflag: tar.TypeSymlink, Linkname: "exec", Mode: 0o777}, "")
	// As tar(1) writes it: a hard link's header repeats its file's mode and owner.
	add(&tar.Header{Name: "top/hard", Typeflag: tar.TypeLink, Linkname: "top/secret", Mode: 0o600, Uid: 1000, Gid: 1000}, "")
	add(&tar.Header{Name: "implicit/parent/file", Typeflag: tar.TypeReg, Mode: 0o644}, "deep\n")
	add(&tar.Header{Name: "root.txt", Typeflag: tar.TypeReg, Mode: 0o444, Uid: 5, Gid: 5}, "root\n")
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "archive.tar"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	gz := exec.Command("gzip", "-n", "-c", filepath.Join(dir, "archive.tar"))
	out, err := gz.Output()
	if err != nil {
		t.Fatalf("gzip: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "archive.tar.gz"), out, 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustChmod(t *testing.T, p string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

func mustSymlink(t *testing.T, target, p string) {
	t.Helper()
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
}

// buildahLayerEntry is one tar entry of a layer.
type buildahLayerEntry struct {
	hdr  *tar.Header
	data []byte
}

// buildahLayerTar reads a layer blob (gzip, zstd or plain tar) by path
// ("/x/y").
func buildahLayerTar(t *testing.T, blob string) map[string]buildahLayerEntry {
	t.Helper()
	f, err := os.Open(blob)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	br := bufio.NewReader(f)
	magic, _ := br.Peek(4)
	var r io.Reader = br
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(br)
		if err != nil {
			t.Fatalf("layer %s: %v", blob, err)
		}
		r = zr
	case bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(br)
		if err != nil {
			t.Fatalf("layer %s: %v", blob, err)
		}
		defer zr.Close()
		r = zr
	}
	entries := map[string]buildahLayerEntry{}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return entries
		}
		if err != nil {
			t.Fatalf("layer %s: %v", blob, err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatalf("layer %s: %v", blob, err)
		}
		name := path.Clean("/" + hdr.Name)
		entries[name] = buildahLayerEntry{hdr: hdr, data: body}
	}
}
