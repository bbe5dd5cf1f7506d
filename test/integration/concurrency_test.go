package integration

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Four builds on one store at once (two of the same Dockerfile, all sharing
// a locked cache mount) and a prune while they run: all succeed and the
// store verifies afterwards. (Build 3 may take the cache before the others
// wrote to it, so it creates the log it counts.)
func TestConcurrentBuildsAndPrune(t *testing.T) {
	t.Parallel()
	root := crashStore(t)
	dockerfiles := []string{
		"FROM busybox:test\nRUN --mount=type=cache,target=/c,sharing=locked echo a >> /c/log && sleep 0.5\nRUN echo same > /same\n",
		"FROM busybox:test\nRUN --mount=type=cache,target=/c,sharing=locked echo a >> /c/log && sleep 0.5\nRUN echo same > /same\n",
		"FROM busybox:test\nRUN --mount=type=cache,target=/c,sharing=locked echo b >> /c/log && sleep 0.5\nCOPY f /f\n",
		"FROM busybox:test AS x\nRUN echo x > /x\nFROM busybox:test\nCOPY --from=x /x /x\nRUN --mount=type=cache,target=/c,sharing=locked touch /c/log && wc -l /c/log\n",
	}
	kiln := kilnBin(t)
	var wg sync.WaitGroup
	errs := make([]string, len(dockerfiles)+1)
	for i, df := range dockerfiles {
		ctx := filepath.Join(t.TempDir(), "ctx")
		writeFiles(t, ctx, map[string]string{"Dockerfile": df, "f": fmt.Sprint(i)})
		wg.Add(1)
		go func(i int, ctx string) {
			defer wg.Done()
			out, err := exec.Command(kiln, "--root", root, "build", "--progress", "plain", "-t", fmt.Sprintf("conc:%d", i), ctx).CombinedOutput()
			if err != nil {
				errs[i] = fmt.Sprintf("build %d: %v\n%s", i, err, out)
			}
		}(i, ctx)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		out, err := exec.Command(kiln, "--root", root, "prune").CombinedOutput()
		if err != nil {
			errs[len(dockerfiles)] = fmt.Sprintf("prune: %v\n%s", err, out)
		}
	}()
	wg.Wait()
	for _, e := range errs {
		if e != "" {
			t.Error(e)
		}
	}
	if got := kilnAt(t, root, "store", "verify"); !strings.Contains(got, "consistent") {
		t.Fatalf("store verify:\n%s", got)
	}
	images := kilnAt(t, root, "images")
	for i := range dockerfiles {
		if !strings.Contains(images, fmt.Sprintf("conc:%d", i)) {
			t.Fatalf("conc:%d missing:\n%s", i, images)
		}
	}
	assertStoreClean(t, root)
}
