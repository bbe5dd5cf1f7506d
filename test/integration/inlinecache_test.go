package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-build/kiln/test/harness"
)

// One stage, so mode=min holds every step: a WORKDIR, a COPY, a RUN whose
// output differs on every run, and a RUN that makes no layer.
const inlineCacheDockerfile = `FROM busybox:test
WORKDIR /src
COPY app.txt .
RUN echo "built $(cat app.txt) at $(date +%s%N)" > /out.txt
RUN true
`

// buildx's pattern: machine A pushes an image with --cache-to type=inline,
// machine B (empty store) builds with --cache-from type=registry,ref= that
// image, runs nothing, and makes the same image.
func TestInlineCacheRegistry(t *testing.T) {
	t.Parallel()
	reg := harness.StartRegistry(t)
	cfg := reg.Config(t, false)
	storeA, storeB, ctxA, ctxB := twoMachines(t)
	for _, c := range []string{ctxA, ctxB} {
		writeFiles(t, c, map[string]string{"Dockerfile": inlineCacheDockerfile})
	}
	ref := reg.Addr + "/team/app:1"
	dir := t.TempDir()
	iid := func(name string) string { return filepath.Join(dir, name) }
	read := func(name string) string {
		data, err := os.ReadFile(iid(name))
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	mustKilnIn(t, storeA, cfg, "build", "--progress", "plain", "--iidfile", iid("a"),
		"--cache-to", "type=inline", "--push", "-t", ref, ctxA)
	// A pushed an index (buildx's default provenance follows the image, as
	// buildx pushes it): the builds below, which push nothing, make the
	// bare image, so they are compared with A's image manifest.
	_, imageA := remoteImage(t, ref)
	if imageA == read("a") {
		t.Fatalf("--push made the bare image %s; want an index with its provenance", imageA)
	}

	// With the inline cache asked for again: every step CACHED, A's digest.
	r := mustKilnIn(t, storeB, cfg, "build", "--progress", "plain", "--iidfile", iid("b"),
		"--cache-to", "type=inline", "--cache-from", "type=registry,ref="+ref, ctxB)
	if n := strings.Count(r.Stderr, "CACHED"); n != 4 {
		t.Fatalf("want 4 CACHED steps (WORKDIR, COPY, both RUNs), got %d:\n%s", n, r.Stderr)
	}
	if read("b") != imageA {
		t.Fatalf("machine B made %s, machine A %s", read("b"), imageA)
	}

	// Without --cache-to type=inline the image carries no cache: machine B,
	// cached from the inline cache, and machine A, cached locally, agree,
	// and differ from the inline image only by it.
	r = mustKilnIn(t, storeB, cfg, "build", "--progress", "plain", "--iidfile", iid("b-plain"),
		"--cache-from", "type=registry,ref="+ref, ctxB)
	if n := strings.Count(r.Stderr, "CACHED"); n != 4 {
		t.Fatalf("want 4 CACHED steps, got %d:\n%s", n, r.Stderr)
	}
	mustKilnIn(t, storeA, cfg, "build", "--progress", "plain", "--iidfile", iid("a-plain"), ctxA)
	if read("a-plain") != read("b-plain") || read("a-plain") == imageA {
		t.Fatalf("plain builds: A %s, B %s; inline %s", read("a-plain"), read("b-plain"), imageA)
	}

	// An ordinary image without an inline cache is a warning, not a failure.
	plain := reg.Addr + "/team/app:plain"
	mustKilnIn(t, storeA, cfg, "build", "--progress", "plain", "--push", "-t", plain, ctxA)
	r = mustKilnIn(t, storeB, cfg, "build", "--progress", "plain", "--cache-from", "type=registry,ref="+plain, ctxB)
	if !strings.Contains(r.Stderr, "WARNING: importing cache") || !strings.Contains(r.Stderr, "type=inline") {
		t.Fatalf("want a warning for an image without a cache:\n%s", r.Stderr)
	}
}

// mode=max cannot go into an image, as in BuildKit.
func TestInlineCacheRefusesModeMax(t *testing.T) {
	t.Parallel()
	storeA, _, ctxA, _ := twoMachines(t)
	r := kilnIn(t, storeA, "", "build", "--cache-to", "type=inline,mode=max", ctxA)
	if r.Code == 0 || !strings.Contains(r.Stderr, "mode=min") {
		t.Fatalf("want a refusal of mode=max:\n%s", r)
	}
}
