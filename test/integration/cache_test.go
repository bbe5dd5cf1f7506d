package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const cacheDockerfile = `FROM busybox:test
COPY a.txt /a
RUN cat /a > /a2
COPY b.txt /b
RUN cat /b > /b2
`

// cacheBuild builds cacheDockerfile on ctx and returns the output, the
// image and the --iidfile content.
func cacheBuild(t *testing.T, ctx string) (result, *ociImage, string) {
	t.Helper()
	iid := filepath.Join(t.TempDir(), "iid")
	r, img := mustBuild(t, buildSpec{Context: ctx, Dockerfile: cacheDockerfile, Tag: "cache:t", Args: []string{"--iidfile", iid}})
	data, err := os.ReadFile(iid)
	if err != nil {
		t.Fatalf("reading --iidfile: %v", err)
	}
	if got := strings.TrimSpace(string(data)); got != img.Digest.String() {
		t.Errorf("--iidfile holds %q, the exported manifest is %s", got, img.Digest)
	}
	return r, img, strings.TrimSpace(string(data))
}

// assertCached checks which RUN/COPY steps were cached: cached[i] is for
// the i-th RUN or COPY step of the output.
func assertCached(t *testing.T, r result, cached ...bool) {
	t.Helper()
	var got []bool
	for _, s := range parseSteps(r.Stderr) {
		if k := s.keyword(); k == "RUN" || k == "COPY" {
			got = append(got, s.cached)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(cached) {
		t.Errorf("RUN/COPY steps cached = %v, want %v:\n%s", got, cached, r)
	}
}

func TestCache(t *testing.T) {
	t.Parallel()
	requireSuite(t)
	ctx := t.TempDir()
	// A unique a.txt makes the first build miss even in a reused store.
	unique := fmt.Sprintf("%s %d", t.Name(), time.Now().UnixNano())
	writeFiles(t, ctx, map[string]string{"a.txt": unique, "b.txt": "b1"})

	r, _, first := cacheBuild(t, ctx)
	assertCached(t, r, false, false, false, false)

	r, _, again := cacheBuild(t, ctx)
	assertCached(t, r, true, true, true, true)
	if again != first {
		t.Errorf("identical rebuild: image %s, first build %s", again, first)
	}

	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(filepath.Join(ctx, "a.txt"), later, later); err != nil {
		t.Fatal(err)
	}
	r, _, touched := cacheBuild(t, ctx)
	assertCached(t, r, true, true, true, true)
	if touched != first {
		t.Errorf("after touching a.txt (mtime only): image %s, want %s", touched, first)
	}

	writeFiles(t, ctx, map[string]string{"b.txt": "b2"})
	r, img, edited := cacheBuild(t, ctx)
	assertCached(t, r, true, true, false, false)
	if edited == first {
		t.Errorf("after editing b.txt the image is unchanged: %s", edited)
	}
	rootfs := img.Rootfs(t)
	if got := readImageFile(t, rootfs, "/b2"); got != "b2" {
		t.Errorf("/b2 = %q after editing b.txt, want b2", got)
	}
	if got := readImageFile(t, rootfs, "/a2"); got != unique {
		t.Errorf("/a2 = %q, want %q", got, unique)
	}
	sameSizeSameMtime(t, ctx, edited)
}

// sameSizeSameMtime edits b.txt keeping its size and restoring its mtime:
// the content changed, so the steps from COPY b.txt on must rerun.
func sameSizeSameMtime(t *testing.T, ctx, before string) {
	t.Helper()
	p := filepath.Join(ctx, "b.txt")
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	writeFiles(t, ctx, map[string]string{"b.txt": "b3"})
	if err := os.Chtimes(p, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	r, img, after := cacheBuild(t, ctx)
	assertCached(t, r, true, true, false, false)
	if after == before {
		t.Errorf("an edit keeping size and mtime left the image unchanged: %s", after)
	}
	if got := readImageFile(t, img.Rootfs(t), "/b2"); got != "b3" {
		t.Errorf("/b2 = %q, want b3 (stale context hash?)", got)
	}
}
