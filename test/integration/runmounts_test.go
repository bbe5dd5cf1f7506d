package integration

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// uniqueID is a name no earlier run's cache mount or step shares.
func uniqueID(t *testing.T) string {
	return fmt.Sprintf("kiln-it-%d", time.Now().UnixNano())
}

func TestCacheMountPersists(t *testing.T) {
	t.Parallel()
	requireSuite(t)
	id := uniqueID(t)
	first := "FROM busybox:test\nRUN --mount=type=cache,id=" + id + ",target=/cache echo from-first-build > /cache/f && echo one > /one\n"
	_, img := mustBuild(t, buildSpec{Context: t.TempDir(), Dockerfile: first, Tag: "mounts:cache1"})
	rootfs := img.Rootfs(t)
	if exists(t, rootfs, "/cache") {
		t.Errorf("the cache mount's target /cache (or its content) is in the image: %v", listTree(t, rootfs, "/cache"))
	}

	// A changed RUN (a cache miss) sees what the first build left.
	second := "FROM busybox:test\nRUN --mount=type=cache,id=" + id + ",target=/cache cat /cache/f > /seen\n"
	_, img = mustBuild(t, buildSpec{Context: t.TempDir(), Dockerfile: second, Tag: "mounts:cache2"})
	rootfs = img.Rootfs(t)
	if got := readImageFile(t, rootfs, "/seen"); got != "from-first-build" {
		t.Errorf("second build saw %q in the cache mount, want from-first-build", got)
	}
	if exists(t, rootfs, "/cache") {
		t.Errorf("the cache mount's target is in the second image")
	}
}

// waitFor is a shell loop that waits up to 5 minutes for file, failing
// with message when it never appears. The bound is generous because on a
// loaded 2-core machine the other stage's runc start can lag by a minute;
// it only bounds a hang, it does not time anything.
func waitFor(file, message string) string {
	return fmt.Sprintf(`i=0; while [ ! -e %s ]; do i=$((i+1)); if [ $i -gt 3000 ]; then echo %q; exit 1; fi; sleep 0.1; done`, file, message)
}

// TestIndependentStagesRunInParallel proves, without timing, that two
// independent stages run at once: each RUN creates its file in a shared
// cache mount and waits for the other's, which only works if both run.
func TestIndependentStagesRunInParallel(t *testing.T) {
	t.Parallel()
	requireSuite(t)
	id := uniqueID(t)
	mount := "--mount=type=cache,id=" + id + ",target=/sync,sharing=shared"
	df := fmt.Sprintf(`FROM busybox:test AS a
RUN %[1]s touch /sync/a && %[2]s && echo a > /a

FROM busybox:test AS b
RUN %[1]s touch /sync/b && %[3]s && echo b > /b

FROM busybox:test
COPY --from=a /a /a
COPY --from=b /b /b
`, mount, waitFor("/sync/b", "stage b never ran while stage a waited"), waitFor("/sync/a", "stage a never ran while stage b waited"))
	_, img := mustBuild(t, buildSpec{Context: t.TempDir(), Dockerfile: df, Tag: "mounts:parallel"})
	rootfs := img.Rootfs(t)
	if readImageFile(t, rootfs, "/a") != "a" || readImageFile(t, rootfs, "/b") != "b" {
		t.Errorf("final stage lacks the files of both stages: %v", listTree(t, rootfs, "/"))
	}
}

// TestCacheMountSharingLocked: two stages that run in parallel (see above)
// use one cache mount with sharing=locked; each RUN marks itself inside,
// then for 1.5 s checks that the other is not inside too.
func TestCacheMountSharingLocked(t *testing.T) {
	t.Parallel()
	requireSuite(t)
	id := uniqueID(t)
	mount := "--mount=type=cache,id=" + id + ",target=/c,sharing=locked"
	run := func(me, other string) string {
		return fmt.Sprintf(`RUN %s touch /c/in-%s && i=0; while [ $i -lt 15 ]; do if [ -e /c/in-%s ]; then echo "%s and %s held the locked cache at once"; exit 1; fi; sleep 0.1; i=$((i+1)); done; rm /c/in-%s && echo %s >> /c/order && cp /c/order /order`,
			mount, me, other, me, other, me, me)
	}
	df := "FROM busybox:test AS a\n" + run("a", "b") + "\n\nFROM busybox:test AS b\n" + run("b", "a") +
		"\n\nFROM busybox:test\nCOPY --from=a /order /order-a\nCOPY --from=b /order /order-b\n"
	_, img := mustBuild(t, buildSpec{Context: t.TempDir(), Dockerfile: df, Tag: "mounts:locked"})
	rootfs := img.Rootfs(t)
	oa, ob := readImageFile(t, rootfs, "/order-a"), readImageFile(t, rootfs, "/order-b")
	// The one that ran second saw the first one's line.
	if !(oa == "a" && ob == "a\nb") && !(ob == "b" && oa == "b\na") {
		t.Errorf("orders seen: a %q, b %q; want one of the RUNs to run after the other", oa, ob)
	}
}

func TestBindMountFromStage(t *testing.T) {
	t.Parallel()
	requireSuite(t)
	ctx := t.TempDir()
	unique := uniqueID(t)
	writeFiles(t, ctx, map[string]string{"x.txt": "v1 " + unique, "other.txt": "o1"})
	df := `FROM busybox:test AS builder
COPY x.txt /x/x.txt
COPY other.txt /other.txt

FROM busybox:test
RUN --mount=type=bind,from=builder,source=/x,target=/y cat /y/x.txt > /seen
RUN --mount=type=bind,from=builder,source=/x,target=/y,rw echo scribble > /y/x.txt && echo new > /y/new
RUN --mount=type=bind,from=builder,source=/x,target=/y cat /y/x.txt > /seen-after-rw && test ! -e /y/new
`
	bindRUN := "RUN --mount=type=bind,from=builder,source=/x,target=/y cat /y/x.txt > /seen" // named with its flags, as BuildKit
	check := func(wantSeen string, wantCached bool) {
		t.Helper()
		r, img := mustBuild(t, buildSpec{Context: ctx, Dockerfile: df, Tag: "mounts:bind"})
		rootfs := img.Rootfs(t)
		if got := readImageFile(t, rootfs, "/seen"); got != wantSeen {
			t.Errorf("/seen = %q, want %q", got, wantSeen)
		}
		if got := readImageFile(t, rootfs, "/seen-after-rw"); got != wantSeen {
			t.Errorf("/seen-after-rw = %q, want %q (rw writes must be discarded)", got, wantSeen)
		}
		if exists(t, rootfs, "/y") {
			t.Errorf("the bind mount's target /y is in the image: %v", listTree(t, rootfs, "/y"))
		}
		n, cached := countStepVertices(r.Stderr, bindRUN)
		if n != 1 || (cached == 1) != wantCached {
			t.Errorf("bind RUN: %d vertices, %d cached; want cached=%v:\n%s", n, cached, wantCached, r.Stderr)
		}
	}
	check("v1 "+unique, false)
	check("v1 "+unique, true)
	writeFiles(t, ctx, map[string]string{"x.txt": "v2 " + unique})
	check("v2 "+unique, false)
	// A file of the stage outside the bound source: the mount's content is
	// unchanged, so the step stays cached (content-based, as BuildKit).
	writeFiles(t, ctx, map[string]string{"other.txt": "o2"})
	t.Run("content outside source", func(t *testing.T) { check("v2 "+unique, true) })
}

func TestTmpfsMountLeavesNothing(t *testing.T) {
	t.Parallel()
	requireSuite(t)
	df := "FROM busybox:test\n" +
		"RUN --mount=type=tmpfs,target=/scratch,size=1m echo data > /scratch/f && grep -q ' /scratch tmpfs ' /proc/mounts && grep ' /scratch ' /proc/mounts > /mounts && echo done > /done\n"
	_, img := mustBuild(t, buildSpec{Context: t.TempDir(), Dockerfile: df, Tag: "mounts:tmpfs"})
	rootfs := img.Rootfs(t)
	if exists(t, rootfs, "/scratch") {
		t.Errorf("the tmpfs target /scratch is in the image: %v", listTree(t, rootfs, "/scratch"))
	}
	if readImageFile(t, rootfs, "/done") != "done" {
		t.Errorf("RUN result missing")
	}
	if m := readImageFile(t, rootfs, "/mounts"); !strings.Contains(m, "size=1024k") {
		t.Errorf("tmpfs mount %q lacks size=1024k", m)
	}
	assertNoLeaks(t)
}
