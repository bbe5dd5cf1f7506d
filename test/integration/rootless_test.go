package integration

import (
	"archive/tar"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/kiln-build/kiln/test/harness"
)

// rootlessEnv gates the rootless suite: every build runs twice, as root
// and as a plain user (a few minutes on two cores).
const rootlessEnv = "KILN_TEST_ROOTLESS"

// rootlessExtras covers, on busybox, what the seed's patterns do not:
// --network=none, a cache mount shared by two steps, an opaque directory,
// owners and modes set in RUN, a fifo and a symlink.
const rootlessExtras = `FROM busybox:test
RUN --network=none wc -l < /proc/net/dev > /netdevs
RUN --mount=type=cache,target=/cache echo one >> /cache/log
RUN --mount=type=cache,target=/cache wc -l < /cache/log > /cachelines
RUN mkdir -p /o/gone && touch /o/gone/f && chown -R 1234:5678 /o && chmod 2750 /o && ln -s /nowhere /o/link && mkfifo /o/fifo
RUN rm -rf /o && mkdir /o && echo fresh > /o/only && chmod 0604 /o/only
`

// rootlessQEMU runs an arm64 busybox on an amd64 host.
const rootlessQEMU = `FROM busybox:multi
RUN uname -m > /arch
`

// TestRootlessMatchesRoot builds the seed's patterns as a user the test
// creates, with subordinate id ranges and kiln's default store, and as root,
// and requires the same image: manifest digests equal, so every file,
// owner, mode, the config and the history are.
func TestRootlessMatchesRoot(t *testing.T) {
	if os.Getenv(rootlessEnv) == "" {
		t.Skip(rootlessEnv + "=1 runs the rootless suite (every pattern built as root and as a plain user)")
	}
	requireSuite(t)
	harness.Require(t, "qemu-aarch64-static")
	bases := []*harness.Base{harness.Busybox, harness.Golang, harness.BusyboxMulti, harness.Node, harness.Curl, harness.BusyboxUclibc}
	rootStore := harness.NewStore(t, bases...)
	u := harness.NewUser(t)
	u.AddBases(t, bases...)

	if r := u.Run(t, "info"); r.Code != 0 || !strings.Contains(r.Stdout, "isolation: rootless") ||
		!strings.Contains(r.Stdout, "store: "+filepath.Join(u.Data, "kiln")+" ") {
		t.Fatalf("kiln info as %s does not choose rootless with the XDG store:\n%s", u.Name, r)
	}

	proxy := startGoProxy(t, "kiln.test/rootless/a")
	p4 := t.TempDir()
	writeFiles(t, p4, proxy.appFiles("kiln.test/rootless/a"))
	p8 := t.TempDir()
	writeFiles(t, p8, map[string]string{"package.json": `{"name":"app"}`, "index.js": "console.log(1)\n", ".dockerignore": ".npm_token\n"})
	writeFile(t, filepath.Join(p8, ".npm_token"), randomSecret(t), 0o600)
	secret := []string{"--secret", "id=npm_token,src=" + filepath.Join(p8, ".npm_token")}

	cases := []struct {
		name, dockerfile, target, context string
		args                              []string
	}{
		{"pattern1", pattern1Go, "", goAppContext(t, false), nil},
		{"pattern2-development", pattern2, "development", goAppContext(t, false), nil},
		{"pattern2-production", pattern2, "production", goAppContext(t, false), nil},
		{"pattern3-test", pattern3, "test", goAppContext(t, false), nil},
		{"pattern3-production", pattern3, "production", goAppContext(t, true), nil},
		{"pattern4-go", fmt.Sprintf(pattern4Go, proxy.url), "", p4, nil},
		{"pattern5", pattern5, "", goAppContext(t, false), []string{"--platform", "linux/amd64,linux/arm64"}},
		{"pattern8", pattern8Busybox, "", p8, secret},
		// The Node patterns, FROM the stand-ins by their store names.
		{"pattern1-node", nodeNames.Replace(pattern1Node), "", nodeAppContext(t), nil},
		{"pattern6-node", nodeNames.Replace(pattern6Node), "", nodeAppContext(t), nil},
		{"pattern7-node", nodeNames.Replace(pattern7Node), "", nodeAppContext(t), nil},
		{"extras", rootlessExtras, "", t.TempDir(), nil},
		// RUN under QEMU: the binfmt handler root registered with the F flag
		// serves the user namespace too.
		{"qemu-arm64", rootlessQEMU, "", t.TempDir(), []string{"--platform", "linux/arm64"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			spec := buildSpec{Dockerfile: c.dockerfile, Target: c.target, Context: c.context, Args: c.args}
			r, rootTar := rootStore.Build(t, spec)
			if r.Code != 0 {
				t.Fatalf("root build failed:\n%s", r)
			}
			spec.Context = u.CopyIn(t, c.context, "ctx-"+c.name)
			spec.Args = userArgs(c.args, c.context, spec.Context)
			r, userTar := u.Build(t, c.name, spec)
			if r.Code != 0 {
				t.Fatalf("rootless build failed:\n%s", r)
			}
			rootArc, userArc := harness.ReadArchive(t, rootTar), harness.ReadArchive(t, userTar)
			assertSameArchive(t, rootArc, userArc)
			if c.name == "qemu-arm64" {
				if f := userArc.Images[0].Files(t)["/arch"]; f.Digest != digest.FromString("aarch64\n") {
					t.Errorf("rootless RUN under QEMU did not write aarch64 to /arch: %v", f)
				}
			}
		})
	}
}

// userArgs points paths into the root context at the user's copy of it.
func userArgs(args []string, from, to string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = strings.ReplaceAll(a, from, to)
	}
	return out
}

// goNondeterministic are the paths of Go builds that differ between any
// two runs, in one mode as well: telemetry counters (with a random
// "weekends" file) and build cache entries (they record times).
var goNondeterministic = []string{"/root/.config/go/telemetry", "/root/.cache/go-build"}

func nondeterministic(p string) bool {
	for _, d := range goNondeterministic {
		if p == d || strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	return false
}

// assertSameArchive requires equal top digests or, where a Go build wrote
// nondeterministic files, the same configs (but for their diff IDs) and the
// same files outside those paths: type, mode, owner, content, link.
func assertSameArchive(t *testing.T, root, user *harness.Archive) {
	t.Helper()
	if root.TopDigest == user.TopDigest {
		return
	}
	if len(root.Images) != len(user.Images) {
		t.Fatalf("%d images as root, %d rootless", len(root.Images), len(user.Images))
	}
	for i := range root.Images {
		ri, ui := root.Images[i], user.Images[i]
		rc, uc := ri.Config, ui.Config
		rc.RootFS.DiffIDs, uc.RootFS.DiffIDs = nil, nil
		if !reflect.DeepEqual(rc, uc) {
			t.Errorf("%s: configs differ:\nroot     %+v\nrootless %+v", ri.Platform, rc, uc)
		}
		rf, uf := ri.Files(t), ui.Files(t)
		var diffs, skipped []string
		for p, f := range rf {
			g, ok := uf[p]
			switch {
			case nondeterministic(p):
				if !ok || !reflect.DeepEqual(f, g) {
					skipped = append(skipped, p)
				}
			case !ok:
				diffs = append(diffs, "only as root: "+p+" "+f.String())
			case !reflect.DeepEqual(f, g):
				diffs = append(diffs, fmt.Sprintf("%s: root %s, rootless %s", p, f, g))
			}
		}
		for p, f := range uf {
			if _, ok := rf[p]; !ok && !nondeterministic(p) {
				diffs = append(diffs, "only rootless: "+p+" "+f.String())
			} else if !ok {
				skipped = append(skipped, p)
			}
		}
		sort.Strings(diffs)
		if len(diffs) > 0 {
			t.Errorf("%s: files differ:\n%s", ri.Platform, strings.Join(diffs, "\n"))
		}
		if len(skipped) == 0 && len(diffs) == 0 {
			t.Errorf("%s: digests differ (root %s, rootless %s) but no file does; layers:\n%s", ri.Platform, root.TopDigest, user.TopDigest,
				strings.Join(layerDiffs(t, ri, ui), "\n"))
		}
		t.Logf("%s: %d nondeterministic Go files differ (under %v)", ri.Platform, len(skipped), goNondeterministic)
	}
}

// layerDiffs names, layer by layer, the tar entries two images' layers do
// not share (name, type, mode, owner, size): what makes their digests
// differ when their files do not.
func layerDiffs(t *testing.T, a, b *harness.Image) []string {
	t.Helper()
	var out []string
	for i := 0; i < len(a.Manifest.Layers) || i < len(b.Manifest.Layers); i++ {
		entries := func(img *harness.Image) map[string]string {
			m := map[string]string{}
			if i < len(img.Manifest.Layers) {
				for name, e := range harness.ReadLayer(t, img.Blob(img.Manifest.Layers[i].Digest)) {
					h := e.Header
					m[name] = fmt.Sprintf("%c %o %d:%d %dB mtime %d", h.Typeflag, h.Mode, h.Uid, h.Gid, h.Size, h.ModTime.Unix())
				}
			}
			return m
		}
		ea, eb := entries(a), entries(b)
		for name, ha := range ea {
			if hb, ok := eb[name]; !ok || ha != hb {
				out = append(out, fmt.Sprintf("layer %d %s: first %q, second %q", i, name, ha, hb))
			}
		}
		for name, hb := range eb {
			if _, ok := ea[name]; !ok {
				out = append(out, fmt.Sprintf("layer %d %s: only second %q", i, name, hb))
			}
		}
	}
	sort.Strings(out)
	return out
}

// rootlessPID records the pid RUN's shell has: 1 in a pid namespace of its
// own, kiln's namespace's otherwise.
const rootlessPID = `FROM busybox:test
RUN echo $$ > /pid && mkdir -p /made && chown 7:8 /made
`

// TestRootlessNoProc: --isolation=rootless-noproc runs RUN without a pid
// namespace (it binds kiln's /proc), rootless with one; the rest of the
// image is root mode's.
func TestRootlessNoProc(t *testing.T) {
	if os.Getenv(rootlessEnv) == "" {
		t.Skip(rootlessEnv + "=1 runs the rootless suite")
	}
	requireSuite(t)
	rootStore := harness.NewStore(t, harness.Busybox)
	u := harness.NewUser(t)
	u.AddBases(t, harness.Busybox)
	ctx := u.Own(t, "ctx-pid")
	r, rootTar := rootStore.Build(t, buildSpec{Dockerfile: rootlessPID, Context: t.TempDir()})
	if r.Code != 0 {
		t.Fatalf("root build failed:\n%s", r)
	}
	rootFiles := harness.ReadImage(t, rootTar).Files(t)
	for mode, wantPID1 := range map[string]bool{"rootless": true, "rootless-noproc": false} {
		r, tar := u.Build(t, mode, buildSpec{Dockerfile: rootlessPID, Context: ctx, Args: []string{"--no-cache", "--isolation", mode}})
		if r.Code != 0 {
			t.Fatalf("%s build failed:\n%s", mode, r)
		}
		img := harness.ReadImage(t, tar)
		files := img.Files(t)
		pid := strings.TrimSpace(string(img.LayerEntries(t)["/pid"].Data))
		if (pid == "1") != wantPID1 {
			t.Errorf("%s: RUN's shell has pid %s; pid 1 expected: %v", mode, pid, wantPID1)
		}
		for p, f := range rootFiles {
			if p != "/pid" && !reflect.DeepEqual(files[p], f) {
				t.Errorf("%s: %s = %s, root mode has %s", mode, p, files[p], f)
			}
		}
		if len(files) != len(rootFiles) {
			t.Errorf("%s: %d files, root mode %d", mode, len(files), len(rootFiles))
		}
	}
}

// TestRootlessUnmappedOwner: an owner outside the user's subordinate
// ranges is an error naming the entry and the ids, not a wrong owner.
func TestRootlessUnmappedOwner(t *testing.T) {
	if os.Getenv(rootlessEnv) == "" {
		t.Skip(rootlessEnv + "=1 runs the rootless suite")
	}
	requireSuite(t)
	u := harness.NewUser(t)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range []*tar.Header{
		{Name: "bin/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "bin/far", Typeflag: tar.TypeReg, Mode: 0o644, Uid: 4000000, Size: 2},
	} {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			tw.Write([]byte("x\n"))
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	rootfs := filepath.Join(u.Own(t, "far"), "rootfs.tar")
	writeFile(t, rootfs, buf.String(), 0o644)
	r := u.Run(t, "import", rootfs, "-t", "far:test")
	if r.Code == 0 || !strings.Contains(r.Stderr, `"bin/far"`) || !strings.Contains(r.Stderr, "owner 4000000:0 is outside the ids this user namespace maps") {
		t.Errorf("importing a file owned by 4000000 as %s:\n%s", u.Name, r)
	}
}

// A plain user's no-op rebuild is answered from the cache before kiln
// enters its user namespace: the newuidmap on PATH (a wrapper that notes
// each run, then runs the real one) is not run, and the image is the same.
// A build with a step to run enters as before.
func TestRootlessNoOpStaysOutside(t *testing.T) {
	if os.Getenv(rootlessEnv) == "" {
		t.Skip(rootlessEnv + "=1 runs the rootless suite")
	}
	requireSuite(t)
	u := harness.NewUser(t)
	u.AddBases(t, harness.Busybox)
	bin := u.Own(t, "bin")
	runs := filepath.Join(bin, "runs")
	for _, tool := range []string{"newuidmap", "newgidmap"} {
		real, err := exec.LookPath(tool)
		if err != nil {
			t.Skip(tool + " is missing")
		}
		writeFile(t, filepath.Join(bin, tool), fmt.Sprintf("#!/bin/sh\necho %s >> %s\nexec %s \"$@\"\n", tool, runs, real), 0o755)
	}
	env := []string{"PATH=" + bin + ":" + os.Getenv("PATH")}
	ctx := u.Own(t, "ctx-noop")
	df := filepath.Join(ctx, "Dockerfile")
	entered := func() int {
		data, _ := os.ReadFile(runs)
		return strings.Count(string(data), "newuidmap")
	}
	build := func(want string) (string, int) {
		t.Helper()
		iid := filepath.Join(ctx, "iid")
		before := entered()
		r := u.RunEnv(t, env, "build", "--progress", "plain", "-t", "noop:1", "--iidfile", iid, ctx)
		if r.Code != 0 || !strings.Contains(r.Stderr, want) {
			t.Fatalf("build (want %q in its output):\n%s", want, r)
		}
		data, err := os.ReadFile(iid)
		if err != nil {
			t.Fatal(err)
		}
		return string(data), entered() - before
	}
	// The context's files are the user's: uid 0 inside the namespace, the
	// user's own outside it, and their COPY has the same key in both.
	writeFile(t, filepath.Join(ctx, "file"), "context file\n", 0o644)
	if err := os.Lchown(filepath.Join(ctx, "file"), u.UID, u.GID); err != nil {
		t.Fatal(err)
	}
	u.Own(t, "ctx-noop/dir")
	writeFile(t, df, "FROM busybox:test\nCOPY file dir /in/\nRUN echo one > /one\n", 0o644)
	first, n := build("0 steps cached, 2 run")
	if n != 1 {
		t.Fatalf("the first build ran newuidmap %d times, want once", n)
	}
	again, n := build("2 steps cached, 0 run")
	if n != 0 || again != first {
		t.Errorf("the no-op rebuild ran newuidmap %d times and made %s (first %s): want none, the same image", n, again, first)
	}
	writeFile(t, df, "FROM busybox:test\nCOPY file dir /in/\nRUN echo one > /one\nRUN echo two > /two\n", 0o644)
	if _, n := build("2 steps cached, 1 run"); n != 1 {
		t.Errorf("a rebuild with a step to run ran newuidmap %d times, want once", n)
	}
}
