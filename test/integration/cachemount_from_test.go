package integration

import (
	"fmt"
	"strings"
	"testing"
)

// TestCacheMountFromStage: --mount=type=cache,from=<stage>,source=<path>
// starts the cache with that path of the stage (BuildKit makes the cache a
// mutable copy of the from= reference); later builds see earlier writes; a
// different seed is a different cache; --target builds the seed stage but
// not the stages nothing needs.
func TestCacheMountFromStage(t *testing.T) {
	t.Parallel()
	requireSuite(t)
	id := uniqueID(t)
	df := func(seed, extra string) string {
		return fmt.Sprintf(`FROM busybox:test AS seed
RUN mkdir -p /deps && echo %[1]s > /deps/a && echo outside > /outside

FROM busybox:test AS unneeded
RUN echo this stage must not run && exit 1

FROM busybox:test AS app
RUN --mount=type=cache,id=%[2]s,target=/cache,from=seed,source=/deps cat /cache/a > /seen && \
    echo %[3]s >> /cache/log && cp /cache/log /log && ls /cache > /listing

FROM app AS final
RUN echo never built with --target app > /final
`, seed, id, extra)
	}
	build := func(dockerfile string) string {
		t.Helper()
		_, img := mustBuild(t, buildSpec{Context: t.TempDir(), Dockerfile: dockerfile, Target: "app", Tag: "cachefrom:stage"})
		rootfs := img.Rootfs(t)
		if exists(t, rootfs, "/cache") || exists(t, rootfs, "/final") {
			t.Errorf("image holds the cache target or the final stage: %v", listTree(t, rootfs, "/"))
		}
		if got := readImageFile(t, rootfs, "/listing"); got != "a\nlog" {
			t.Errorf("cache listing %q, want the seeded source's a (and log)", got)
		}
		return readImageFile(t, rootfs, "/seen") + "|" + strings.ReplaceAll(readImageFile(t, rootfs, "/log"), "\n", ",")
	}
	if got, want := build(df("v1", "run1")), "v1|run1"; got != want {
		t.Errorf("first build: %q, want %q", got, want)
	}
	// A changed RUN (a cache miss) with the same seed: the same cache.
	if got, want := build(df("v1", "run2")), "v1|run1,run2"; got != want {
		t.Errorf("second build: %q, want %q (the first build's write kept)", got, want)
	}
	// A changed seed stage is a different cache, seeded anew.
	if got, want := build(df("v2", "run3")), "v2|run3"; got != want {
		t.Errorf("changed seed: %q, want %q", got, want)
	}
}

// TestCacheMountFromImage: from= names an image; the cache starts as the
// image's source path.
func TestCacheMountFromImage(t *testing.T) {
	t.Parallel()
	requireSuite(t)
	df := fmt.Sprintf("FROM busybox:test\nRUN --mount=type=cache,id=%s,target=/tools,from=busybox:test,source=/bin "+
		"test -x /tools/busybox && touch /tools/mine && ls /tools | wc -l > /count\n", uniqueID(t))
	_, img := mustBuild(t, buildSpec{Context: t.TempDir(), Dockerfile: df, Tag: "cachefrom:image"})
	rootfs := img.Rootfs(t)
	if exists(t, rootfs, "/tools") {
		t.Errorf("the cache target is in the image: %v", listTree(t, rootfs, "/tools"))
	}
	if exists(t, rootfs, "/bin/mine") {
		t.Error("a write to the cache reached the image's /bin")
	}
	if readImageFile(t, rootfs, "/count") == "1" {
		t.Error("the cache held only the step's own file, not the image's /bin")
	}
}
