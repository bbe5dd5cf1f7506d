package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-build/kiln/test/harness"
)

const remoteCacheDockerfile = `FROM busybox:test AS build
WORKDIR /src
COPY app.txt .
RUN echo "built $(cat app.txt) at $(date +%s%N)" > /out.txt
FROM busybox:test
COPY --from=build /out.txt /out.txt
RUN cat /out.txt > /copy.txt
`

// twoMachines makes two stores with the same base image and two copies of
// one context, as two CI machines would have.
func twoMachines(t *testing.T) (storeA, storeB, ctxA, ctxB string) {
	t.Helper()
	dir := t.TempDir()
	storeA, storeB = filepath.Join(dir, "a"), filepath.Join(dir, "b")
	for _, s := range []string{storeA, storeB} {
		harness.NewStoreAt(t, s, harness.Busybox)
	}
	ctxA, ctxB = filepath.Join(dir, "ctx-a"), filepath.Join(dir, "ctx-b")
	for _, c := range []string{ctxA, ctxB} {
		writeFiles(t, c, map[string]string{"Dockerfile": remoteCacheDockerfile, "app.txt": "v1"})
	}
	return
}

// assertAllCached checks that machine B ran nothing and made machine A's image.
func assertAllCached(t *testing.T, r result, digestA, iidB string) {
	t.Helper()
	if n := strings.Count(r.Stderr, "CACHED"); n != 5 {
		t.Fatalf("want 5 CACHED steps (every WORKDIR, COPY and RUN), got %d:\n%s", n, r.Stderr)
	}
	got, err := os.ReadFile(iidB)
	if err != nil || string(got) != digestA {
		t.Fatalf("machine B made %s, machine A %s", got, digestA)
	}
}

func TestRemoteCacheLocalDirectory(t *testing.T) {
	t.Parallel()
	storeA, storeB, ctxA, ctxB := twoMachines(t)
	cache := filepath.Join(t.TempDir(), "cache")
	iidA, iidB := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	mustKilnIn(t, storeA, "", "build", "--progress", "plain", "--iidfile", iidA,
		"--cache-to", "type=local,dest="+cache+",mode=max", ctxA)
	digestA, _ := os.ReadFile(iidA)
	r := mustKilnIn(t, storeB, "", "build", "--progress", "plain", "--iidfile", iidB,
		"--cache-from", "type=local,src="+cache, ctxB)
	assertAllCached(t, r, string(digestA), iidB)
	// A changed file reruns from its COPY on, still using the cache before it.
	writeFiles(t, ctxB, map[string]string{"app.txt": "v2"})
	r = mustKilnIn(t, storeB, "", "build", "--progress", "plain", "--cache-from", "type=local,src="+cache, ctxB)
	if strings.Count(r.Stderr, "CACHED") != 1 {
		t.Fatalf("after an edit only WORKDIR should be cached:\n%s", r.Stderr)
	}
}

func TestRemoteCacheRegistry(t *testing.T) {
	t.Parallel()
	reg := harness.StartRegistry(t)
	cfg := reg.Config(t, false)
	storeA, storeB, ctxA, ctxB := twoMachines(t)
	ref := reg.Addr + "/team/app:cache"
	iidA, iidB := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	mustKilnIn(t, storeA, cfg, "build", "--progress", "plain", "--iidfile", iidA,
		"--cache-to", "type=registry,ref="+ref+",mode=max", ctxA)
	digestA, _ := os.ReadFile(iidA)
	r := mustKilnIn(t, storeB, cfg, "build", "--progress", "plain", "--iidfile", iidB,
		"--cache-from", "type=registry,ref="+ref, ctxB)
	assertAllCached(t, r, string(digestA), iidB)
	// A cache that does not exist yet is a warning, not a failure.
	r = mustKilnIn(t, storeB, cfg, "build", "--progress", "plain", "--cache-from", "type=registry,ref="+reg.Addr+"/team/none:cache", ctxB)
	if !strings.Contains(r.Stderr, "WARNING: importing cache") {
		t.Fatalf("want a warning for a missing cache:\n%s", r.Stderr)
	}
}

// A build resolved from a remote cache fetches only the layers its result
// holds: COPY --from a cached stage is keyed by the stage's recorded source
// digest, not by mounting the stage (which would download its layers).
func TestRemoteCacheFetchesOnlyNeededLayers(t *testing.T) {
	t.Parallel()
	storeA, storeB, ctxA, ctxB := twoMachines(t)
	// The layer holds the marker upper-cased, so the Dockerfile text (kept
	// in the store's records) does not contain it.
	const marker = "BUILDER-ONLY-BYTES-7F3A9C"
	df := "FROM busybox:test AS build\nRUN echo " + strings.ToLower(marker) + " | tr a-z A-Z > /tool && echo small > /small\n" +
		"FROM busybox:test\nCOPY --from=build /small /small\n"
	for _, c := range []string{ctxA, ctxB} {
		writeFiles(t, c, map[string]string{"Dockerfile": df})
	}
	cache := filepath.Join(t.TempDir(), "cache")
	iidA, iidB := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	mustKilnIn(t, storeA, "", "build", "--progress", "plain", "--iidfile", iidA,
		"--cache-to", "type=local,dest="+cache+",mode=max", ctxA)
	r := mustKilnIn(t, storeB, "", "build", "--progress", "plain", "--iidfile", iidB,
		"--cache-from", "type=local,src="+cache, ctxB)
	if n := strings.Count(r.Stderr, "CACHED"); n != 2 {
		t.Fatalf("want the RUN and the COPY --from CACHED, got %d:\n%s", n, r.Stderr)
	}
	a, _ := os.ReadFile(iidA)
	b, _ := os.ReadFile(iidB)
	if string(a) != string(b) {
		t.Fatalf("machine B made %s, machine A %s", b, a)
	}
	if hits := findBytes(t, storeB, []byte(marker)); len(hits) > 0 {
		t.Fatalf("the builder stage's layer was fetched into machine B's store: %v", hits)
	}
}
