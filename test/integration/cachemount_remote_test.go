package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kiln-build/kiln/test/harness"
)

// TestCacheMountsTravel is the seed's Pattern 4 (npm) on two fresh stores,
// as two ephemeral CI runners: the first exports its cache with
// cache-mounts=true, the second imports it and runs `npm ci` again
// (--no-cache) under --network=none, so the packages can come only from the
// restored /root/.npm. A third fresh store without the cache shows that the
// same build cannot succeed offline.
func TestCacheMountsTravel(t *testing.T) {
	t.Parallel()
	pkg := fmt.Sprint("kcm-travel-", time.Now().UnixNano())
	reg := startNpmRegistry(t, pkg)
	dir := t.TempDir()
	ctx := filepath.Join(dir, "ctx")
	files := reg.appFiles(pkg)
	files["Dockerfile"] = fmt.Sprintf(pattern4Npm, nodeLocalImage, reg.url)
	files["index.js"] = "console.log('app')\n"
	writeFiles(t, ctx, files)
	stores := map[string]string{}
	for _, n := range []string{"a", "b", "c"} {
		stores[n] = filepath.Join(dir, "store-"+n)
		harness.NewStoreAt(t, stores[n], harness.Node)
	}
	cache := filepath.Join(dir, "cache")

	mustKilnIn(t, stores["a"], "", "build", "--progress", "plain",
		"--cache-to", "type=local,dest="+cache+",mode=max,cache-mounts=true", "-o", "type=local,dest="+filepath.Join(dir, "out-a"), ctx)
	if got := reg.downloads(); got[pkg] != 1 {
		t.Fatalf("machine A downloaded %v, want %s once", got, pkg)
	}

	offline := []string{"build", "--progress", "plain", "--no-cache", "--network=none"}
	if r := kilnIn(t, stores["c"], "", append(offline, "-o", "type=local,dest="+filepath.Join(dir, "out-c"), ctx)...); r.Code == 0 {
		t.Fatalf("without the cache, npm ci succeeded offline: the test proves nothing\n%s", r.Stderr)
	}

	outB := filepath.Join(dir, "out-b")
	r := mustKilnIn(t, stores["b"], "", append(offline, "--cache-from", "type=local,src="+cache, "-o", "type=local,dest="+outB, ctx)...)
	if !strings.Contains(r.Stderr, "restoring cache mount /root/.npm") {
		t.Errorf("machine B shows no restore of /root/.npm:\n%s", r.Stderr)
	}
	if n, cached := countStepVertices(r.Stderr, npmCIStep); n != 1 || cached != 0 {
		t.Errorf("RUN npm ci on machine B: %d vertices, %d cached; want it run:\n%s", n, cached, r.Stderr)
	}
	got, err := os.ReadFile(filepath.Join(outB, "app", "node_modules", pkg, "index.js"))
	if err != nil || !strings.Contains(string(got), pkg) {
		t.Errorf("machine B's node_modules/%s/index.js: %q, %v", pkg, got, err)
	}
	if got := reg.downloads(); got[pkg] != 1 {
		t.Errorf("after machine B the registry served %v, want %s once (machine A's)", got, pkg)
	}
}
