package integration

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/kiln-build/kiln/internal/testutil/seaweedfs"
	"github.com/kiln-build/kiln/test/harness"
)

// suite is the state shared by every test of one test binary run: one
// store, so cached steps are shared between tests.
var suite struct {
	once  sync.Once
	store string // the shared kiln store (--root)
}

func TestMain(m *testing.M) {
	code := harness.Main(m)
	seaweedfs.StopShared() // the S3 server of s3cache_test.go, if one ran
	os.Exit(code)
}

// prerequisites are the tools the suite needs beyond root, runc and
// busybox-static.
var prerequisites = []string{"umoci", "skopeo", "go", "tar"}

// requireSuite skips t when the suite cannot run and makes sure the shared
// store exists with the base images.
func requireSuite(t *testing.T) {
	t.Helper()
	harness.Require(t, prerequisites...)
	suite.once.Do(func() {
		suite.store = filepath.Join(harness.TempDir(t), "store")
	})
	baseImages(t)
}

// kilnBin is the kiln binary the harness built.
func kilnBin(t *testing.T) string {
	t.Helper()
	return harness.Kiln(t)
}
