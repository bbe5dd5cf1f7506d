package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kiln-build/kiln/test/harness"
)

// pruneFixture is a store holding busybox:test and the step cache of a
// build nothing names, so prune has records, blobs and layers to delete.
func pruneFixture(t *testing.T) *harness.Store {
	t.Helper()
	s := harness.NewStore(t, harness.Busybox)
	ctx := t.TempDir()
	harness.WriteFile(t, filepath.Join(ctx, "Dockerfile"), "FROM busybox:test\nRUN echo one > /one\nRUN echo two > /two\nCOPY Dockerfile /df\nRUN echo three > /three\n", 0o644)
	s.MustRun(t, "build", "--progress", "plain", ctx)
	return s
}

// storeNames lists the entries of dir below the store, sorted.
func storeNames(t *testing.T, root, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(root, dir))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	slices.Sort(names)
	return names
}

// SIGKILL lands between the deletions of kiln prune: the store stays
// verifiable, images keep every blob, and the next prune finishes the job,
// leaving what an uninterrupted prune leaves.
func TestPruneKillPoints(t *testing.T) {
	t.Parallel()
	ref := pruneFixture(t)
	trace := filepath.Join(t.TempDir(), "trace")
	ref.Env = []string{"KILN_TEST_KILLPOINT=trace", "KILN_TEST_KILLPOINT_FILE=" + trace}
	ref.MustRun(t, "prune")
	points := len(readMarks(t, trace))
	if points < 3 {
		t.Fatalf("prune passed %d kill points, want blobs, layers and records to delete", points)
	}
	wantBlobs, wantLayers := storeNames(t, ref.Root, "blobs/sha256"), storeNames(t, ref.Root, "l")
	for _, n := range spread(points, 4) {
		where := fmt.Sprintf("killed at prune:%d of %d", n, points)
		s := pruneFixture(t)
		marker := filepath.Join(t.TempDir(), "marker")
		s.Env = []string{fmt.Sprintf("KILN_TEST_KILLPOINT=prune:%d", n), "KILN_TEST_KILLPOINT_FILE=" + marker}
		cmd := s.Command(t, "prune")
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if !killAtMark(t, cmd, &out, s.Root, "prune", marker) {
			t.Fatalf("%s: prune ended before its kill point:\n%s", where, out.String())
		}
		s.Env = nil
		s.Verify(t)
		s.MustRun(t, "save", "-o", filepath.Join(t.TempDir(), "bb.tar"), "busybox:test")
		s.MustRun(t, "prune")
		s.Verify(t)
		if got := storeNames(t, s.Root, "blobs/sha256"); !slices.Equal(got, wantBlobs) {
			t.Errorf("%s: the next prune left blobs %v, an uninterrupted one %v", where, got, wantBlobs)
		}
		if got := storeNames(t, s.Root, "l"); !slices.Equal(got, wantLayers) {
			t.Errorf("%s: the next prune left layers %v, an uninterrupted one %v", where, got, wantLayers)
		}
	}
}
