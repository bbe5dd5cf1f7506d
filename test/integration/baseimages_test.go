package integration

import (
	"testing"

	"github.com/kiln-build/kiln/test/harness"
)

var (
	busyboxImage = harness.Busybox.Name
	// golangImage is the name the seed's Dockerfiles use, so they stay
	// verbatim: a busybox rootfs with the host's Go toolchain.
	golangImage = harness.Golang.Name
)

// addToSuiteStore puts more base images into t's store (see requireSuite).
func addToSuiteStore(t *testing.T, bs ...*harness.Base) {
	t.Helper()
	requireSuite(t)
	harness.NewStoreAt(t, suiteRoot(t), bs...)
}
