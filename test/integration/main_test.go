package integration

import (
	"flag"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/kiln-build/kiln/internal/testutil/seaweedfs"
	"github.com/kiln-build/kiln/test/harness"
)

func TestMain(m *testing.M) {
	flag.Parse()
	if !flagSet("test.parallel") {
		// The tests mostly wait on kiln, runc, registries and the disk:
		// GOMAXPROCS tests at a time (the default) leaves a small
		// machine's CPU idle.
		_ = flag.Set("test.parallel", strconv.Itoa(2*runtime.GOMAXPROCS(0)))
	}
	code := harness.Main(m)
	seaweedfs.StopShared() // the S3 server of s3cache_test.go, if one ran
	os.Exit(code)
}

// flagSet reports whether the command line set the flag name.
func flagSet(name string) (set bool) {
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// prerequisites are the tools the suite needs beyond root, runc and
// busybox-static.
var prerequisites = []string{"umoci", "skopeo", "go", "tar"}

// stores holds the store of each top-level test that called requireSuite,
// by the test's name. Tests run in parallel, each on its own store; a
// test's subtests share it.
var stores sync.Map // string → *harness.Store

// requireSuite skips t when the suite cannot run and gives t's top-level
// test its own store, holding busybox:test and the extra bases (tests that
// build Go ask for harness.GolangWarm or Golang: cloning a toolchain into a
// store, and verifying it, costs every test that does). Call it first
// thing in the top-level test. When the test ends, its store must verify
// and hold no leftovers of its builds.
func requireSuite(t *testing.T, extra ...*harness.Base) {
	t.Helper()
	harness.Require(t, prerequisites...)
	name := topLevel(t)
	if _, ok := stores.Load(name); ok {
		return
	}
	if name != t.Name() {
		t.Fatalf("requireSuite: call it in %s before its subtests", name)
	}
	s := harness.NewStore(t, append([]*harness.Base{harness.Busybox}, extra...)...)
	stores.Store(name, s)
	t.Cleanup(func() {
		defer stores.Delete(name)
		if t.Failed() || t.Skipped() {
			return
		}
		storeVerify(t, "at the end of the test")
		if left := deadLeftovers(t); len(left) > 0 {
			t.Errorf("finished kiln processes left these in the store: %v", left)
		}
		assertNoLeaks(t)
	})
}

// suiteStore is the store requireSuite gave t's top-level test.
func suiteStore(t *testing.T) *harness.Store {
	t.Helper()
	s, ok := stores.Load(topLevel(t))
	if !ok {
		t.Fatalf("%s uses the suite's store without requireSuite", t.Name())
	}
	return s.(*harness.Store)
}

// suiteRoot is the directory of t's store (kiln's --root).
func suiteRoot(t *testing.T) string {
	t.Helper()
	return suiteStore(t).Root
}

// topLevel is the name of the top-level test t is, or is a subtest of.
func topLevel(t *testing.T) string {
	name, _, _ := strings.Cut(t.Name(), "/")
	return name
}

// kilnBin is the kiln binary the harness built.
func kilnBin(t *testing.T) string {
	t.Helper()
	return harness.Kiln(t)
}
