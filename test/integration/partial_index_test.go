package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-build/kiln/test/harness"
)

// TestPartialIndexStore: an ordinary pull of a multi-arch base fetches only
// the host's manifest. That index, its other platforms absent, is a normal
// store state: verify finds the store consistent, save writes the platform
// that is present, prune keeps what it needs and the step cache, and a
// build for another platform fetches what it lacks.
func TestPartialIndexStore(t *testing.T) {
	t.Parallel()
	harness.Require(t, "qemu-aarch64-static")
	reg := harness.StartRegistry(t)
	ref := reg.Push(t, harness.BusyboxMulti, "library/multi:1")
	s := harness.NewStore(t, harness.Busybox)
	s.Config = reg.Config(t, false)
	s.MustRun(t, "pull", ref)
	s.Verify(t)

	// A step-cache record that prune must not lose.
	ctx := t.TempDir()
	harness.WriteFile(t, filepath.Join(ctx, "Dockerfile"), "FROM "+ref+"\nRUN echo kiln > /built\n", 0o644)
	s.MustRun(t, "build", "--progress", "plain", "-t", "app:partial", ctx)
	s.Verify(t)

	tar := filepath.Join(t.TempDir(), "multi.tar")
	s.MustRun(t, "save", "-o", tar, ref)
	if got := harness.ReadArchive(t, tar).Platforms(); len(got) != 1 || got[0] != "linux/amd64" {
		t.Errorf("kiln save of the partial index wrote platforms %v, want the one present, linux/amd64", got)
	}

	before := cacheRecords(t, s.Root)
	r := s.MustRun(t, "prune", "--filter", "until=1h")
	if after := cacheRecords(t, s.Root); after != before || before == 0 {
		t.Errorf("kiln prune --filter until=1h left %d of %d step-cache records:\n%s", after, before, r)
	}
	s.Verify(t)
	s.MustRun(t, "prune")
	s.Verify(t)
	s.MustRun(t, "save", "-o", tar, ref) // prune kept what the image needs

	// A build for the platform that is absent fetches it.
	out := filepath.Join(t.TempDir(), "arm64")
	harness.WriteFile(t, filepath.Join(ctx, "Dockerfile"), "FROM "+ref+"\nCOPY Dockerfile /df\n", 0o644)
	s.MustRun(t, "build", "--progress", "plain", "--platform", "linux/arm64", "-o", "type=oci,dest="+out, ctx)
	if got := harness.ReadArchive(t, out).Platforms(); len(got) != 1 || got[0] != "linux/arm64" {
		t.Errorf("an arm64 build of the partial index gave %v", got)
	}
	s.Verify(t)
}

// cacheRecords counts step-cache records in a store.
func cacheRecords(t *testing.T, root string) int {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(root, "cache"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".") && !e.IsDir() {
			n++
		}
	}
	return n
}
