package hostile

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-build/kiln/test/harness"
)

// buildLocal builds ctx (whose Dockerfile is df) on s to a local
// directory, returning kiln's result and the directory.
func buildLocal(t *testing.T, s *harness.Store, ctx, df string, args ...string) (harness.Result, string) {
	t.Helper()
	harness.WriteFile(t, filepath.Join(ctx, "Dockerfile"), df, 0o644)
	out := filepath.Join(t.TempDir(), "out")
	args = append([]string{"build", "--progress", "plain", "-o", "type=local,dest=" + out}, args...)
	return s.Run(t, append(args, ctx)...), out
}

// hostCanary is a file outside every context and store, whose content no
// output may hold; target is a host directory nothing may write into.
func hostCanary(t *testing.T) (canaryFile, target string) {
	t.Helper()
	dir := t.TempDir()
	canaryFile = filepath.Join(dir, "canary")
	harness.WriteFile(t, canaryFile, canary, 0o644)
	target = filepath.Join(dir, "target")
	harness.MkdirAll(t, target)
	return canaryFile, target
}

// assertNothingIn fails if dir holds anything (a host directory that kiln
// must not write into).
func assertNothingIn(t *testing.T, dir string) {
	t.Helper()
	if entries, _ := os.ReadDir(dir); len(entries) > 0 {
		t.Errorf("kiln wrote into the host directory %s: %v", dir, entries)
	}
}

// assertNoCanary fails if a file under dir holds the canary.
func assertNoCanary(t *testing.T, dir string) {
	t.Helper()
	_ = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			if b, _ := os.ReadFile(p); bytes.Contains(b, []byte(canary)) {
				t.Errorf("%s holds a host file's content", p)
			}
		}
		return nil
	})
}

// writeTar writes the entries (a regular file's body is "x\n") to path.
func writeTar(t *testing.T, path string, entries ...*tar.Header) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range entries {
		if h.Typeflag == tar.TypeReg {
			h.Size = 2
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			tw.Write([]byte("x\n"))
		}
	}
	tw.Close()
	harness.WriteFile(t, path, buf.String(), 0o644)
}

// TestContextSymlinksStayInside: symlinks in the context that point out of
// it are copied as symlinks or resolved inside the context, never followed
// to the host.
func TestContextSymlinksStayInside(t *testing.T) {
	t.Parallel()
	s := harness.NewStore(t)
	canaryFile, _ := hostCanary(t)
	ctx := t.TempDir()
	for name, target := range map[string]string{"abs": canaryFile, "dir": filepath.Dir(canaryFile), "rel": "../../../../../../../../" + canaryFile} {
		if err := os.Symlink(target, filepath.Join(ctx, name)); err != nil {
			t.Fatal(err)
		}
	}
	r, out := buildLocal(t, s, ctx, "FROM scratch\nCOPY . /ctx/\n")
	if r.Code != 0 {
		t.Fatalf("COPY . of a context with outward symlinks:\n%s", r)
	}
	for _, name := range []string{"abs", "dir", "rel"} {
		if fi, err := os.Lstat(filepath.Join(out, "ctx", name)); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Errorf("/ctx/%s: %v, want the symlink itself", name, err)
		}
	}
	assertNoCanary(t, out)
	// Through the link: resolved inside the context, where nothing is.
	r, out = buildLocal(t, s, ctx, "FROM scratch\nCOPY dir/canary /x\n")
	if r.Code == 0 {
		assertNoCanary(t, out)
		t.Errorf("COPY dir/canary through a link out of the context succeeded:\n%s", r)
	} else if !strings.Contains(r.Stderr, "dir/canary") {
		t.Errorf("COPY dir/canary: the error does not name the path:\n%s", r)
	}
}

// TestAddTarHostile: ADD of a tar with ../ entries, absolute paths, a
// symlink then a file through it, a hardlink out and a device writes only
// inside the image, or fails clearly.
func TestAddTarHostile(t *testing.T) {
	t.Parallel()
	s := harness.NewStore(t)
	canaryFile, target := hostCanary(t)
	ctx := t.TempDir()
	writeTar(t, filepath.Join(ctx, "evil.tar"),
		&tar.Header{Name: "../../../../../../../../" + target + "/dotdot", Typeflag: tar.TypeReg, Mode: 0o644},
		&tar.Header{Name: target + "/abs", Typeflag: tar.TypeReg, Mode: 0o644},
		&tar.Header{Name: "lnk", Typeflag: tar.TypeSymlink, Linkname: target},
		&tar.Header{Name: "lnk/through", Typeflag: tar.TypeReg, Mode: 0o644},
		&tar.Header{Name: "dev", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3, Mode: 0o666})
	writeTar(t, filepath.Join(ctx, "hard.tar"),
		&tar.Header{Name: "hard", Typeflag: tar.TypeLink, Linkname: "../../../../../../../../" + canaryFile})
	r, out := buildLocal(t, s, ctx, "FROM scratch\nADD evil.tar /x/\n")
	assertNothingIn(t, target)
	if r.Code != 0 {
		t.Fatalf("ADD of ../, absolute and through-symlink entries: want them inside the image:\n%s", r)
	}
	for _, p := range []string{"x/" + target + "/dotdot", "x/" + target + "/abs", "x/" + target + "/through"} {
		if b, err := os.ReadFile(filepath.Join(out, p)); err != nil || string(b) != "x\n" {
			t.Errorf("/%s: %q, %v, want the entry inside the image", p, b, err)
		}
	}
	r, out = buildLocal(t, s, ctx, "FROM scratch\nADD hard.tar /x/\n")
	if r.Code == 0 {
		assertNoCanary(t, out)
		t.Errorf("a hardlink to a host file was accepted:\n%s", r)
	} else if !strings.Contains(r.Stderr, "Dockerfile:2") {
		t.Errorf("ADD of a hardlink out of the archive failed without naming the line:\n%s", r)
	}
	s.Verify(t)
}

// TestDockerignoreReinclude: "!" re-includes inside an ignored tree, and
// nothing else of it is copied.
func TestDockerignoreReinclude(t *testing.T) {
	t.Parallel()
	s := harness.NewStore(t)
	ctx := t.TempDir()
	harness.WriteFiles(t, ctx, map[string]string{
		".dockerignore": "secrets\n!secrets/public.pem\n", "secrets/private.pem": canary, "secrets/public.pem": "pub",
	})
	r, out := buildLocal(t, s, ctx, "FROM scratch\nCOPY . /ctx/\n")
	if r.Code != 0 {
		t.Fatal(r)
	}
	if b, err := os.ReadFile(filepath.Join(out, "ctx/secrets/public.pem")); err != nil || string(b) != "pub" {
		t.Errorf("the re-included file: %q, %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(out, "ctx/secrets/private.pem")); err == nil {
		t.Error("an ignored file was copied")
	}
}

// TestImageSymlinksStayInRootfs: COPY and WORKDIR through a symlink of the
// image to / or /proc write inside the image's root, never on the host.
func TestImageSymlinksStayInRootfs(t *testing.T) {
	t.Parallel()
	s := harness.NewStore(t)
	_, target := hostCanary(t)
	ctx := t.TempDir()
	harness.WriteFile(t, filepath.Join(ctx, "a"), "a", 0o644)
	writeTar(t, filepath.Join(ctx, "links.tar"),
		&tar.Header{Name: "toroot", Typeflag: tar.TypeSymlink, Linkname: "/"},
		&tar.Header{Name: "toproc", Typeflag: tar.TypeSymlink, Linkname: "/proc/self/cwd"})
	df := "FROM scratch\nADD links.tar /\n" +
		"COPY a /toroot" + target + "/copied\n" +
		"COPY a /toproc" + target + "/viaproc\n" +
		"WORKDIR /toroot" + target + "/workdir\n"
	r, out := buildLocal(t, s, ctx, df)
	assertNothingIn(t, target)
	if r.Code != 0 {
		t.Logf("refused: %s", r.Stderr)
		if !strings.Contains(r.Stderr, "Dockerfile:") {
			t.Errorf("failed without naming the line:\n%s", r)
		}
		return
	}
	if b, err := os.ReadFile(filepath.Join(out, target, "copied")); err != nil || string(b) != "a" {
		t.Errorf("COPY through /toroot: %q, %v, want it inside the image", b, err)
	}
}

// TestBindMountSourceStaysInContext: RUN --mount=type=bind,source=../..
// mounts the context itself, not the host's directories above it.
func TestBindMountSourceStaysInContext(t *testing.T) {
	t.Parallel()
	s := harness.NewStore(t, harness.Busybox)
	ctx := t.TempDir()
	harness.WriteFile(t, filepath.Join(ctx, "in-context"), "x", 0o644)
	df := "FROM busybox:test\nRUN --mount=type=bind,source=../..,target=/m ls -a /m > /listing\n"
	r, out := buildLocal(t, s, ctx, df)
	if r.Code != 0 {
		t.Logf("refused: %s", r.Stderr)
		if !strings.Contains(r.Stderr, "Dockerfile:2") {
			t.Errorf("failed without naming the line:\n%s", r)
		}
		return
	}
	b, err := os.ReadFile(filepath.Join(out, "listing"))
	if err != nil || !strings.Contains(string(b), "in-context") {
		t.Errorf("/m lists %q (%v), want the context", b, err)
	}
}

// TestHugeDockerfiles: a 10 MB Dockerfile builds; 5,000 stages plan in
// bounded time.
func TestHugeDockerfiles(t *testing.T) {
	t.Parallel()
	s := harness.NewStore(t)
	ctx := t.TempDir()
	big := "FROM scratch\n" + strings.Repeat("# "+strings.Repeat("x", 1000)+"\n", 10<<10) + "COPY Dockerfile /\n"
	if r, _ := buildLocal(t, s, ctx, big); r.Code != 0 {
		t.Errorf("a %d-byte Dockerfile:\n%s", len(big), r.Stderr[:min(len(r.Stderr), 2000)])
	}
	var b strings.Builder
	for i := range 5000 {
		b.WriteString("FROM scratch AS s" + itoa(i) + "\nCOPY Dockerfile /\n")
	}
	r, _ := buildLocal(t, s, ctx, b.String())
	if r.Code != 0 && !strings.Contains(r.Stderr, "Dockerfile") {
		t.Errorf("5,000 stages failed without a clear error:\n%s", r.Stderr[:min(len(r.Stderr), 2000)])
	}
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var d []byte
	for ; i > 0; i /= 10 {
		d = append([]byte{byte('0' + i%10)}, d...)
	}
	return string(d)
}

// TestOddNames: context names with a newline and invalid UTF-8 are copied
// as they are.
func TestOddNames(t *testing.T) {
	t.Parallel()
	s := harness.NewStore(t)
	ctx := t.TempDir()
	names := []string{"new\nline", "bad\xff\xfeutf8", "tab\there"}
	for _, n := range names {
		harness.WriteFile(t, filepath.Join(ctx, n), n, 0o644)
	}
	r, out := buildLocal(t, s, ctx, "FROM scratch\nCOPY . /ctx/\n")
	if r.Code != 0 {
		t.Fatal(r)
	}
	for _, n := range names {
		if b, err := os.ReadFile(filepath.Join(out, "ctx", n)); err != nil || string(b) != n {
			t.Errorf("%q: %q, %v", n, b, err)
		}
	}
}
