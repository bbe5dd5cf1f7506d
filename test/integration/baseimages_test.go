package integration

import (
	"sync"
	"testing"

	"github.com/kiln-build/kiln/test/harness"
)

var (
	busyboxImage = harness.Busybox.Name
	// golangImage is the name the seed's Dockerfiles use, so they stay
	// verbatim: a busybox rootfs with the host's Go toolchain.
	golangImage = harness.Golang.Name
)

var bases struct {
	once sync.Once
	err  string // set while making them; cleared on success
}

// baseImages puts busybox:test and golang:1.22-alpine into the shared
// store, once per run. A failure fails every test that needs them.
func baseImages(t *testing.T) {
	t.Helper()
	bases.once.Do(func() {
		bases.err = "making the base images failed (see the first test's output)"
		harness.NewStoreAt(t, suite.store, harness.Busybox, harness.Golang)
		bases.err = ""
	})
	if bases.err != "" {
		t.Fatal(bases.err)
	}
}

// addToSharedStore puts more base images into the shared store.
func addToSharedStore(t *testing.T, bs ...*harness.Base) {
	t.Helper()
	requireSuite(t)
	harness.NewStoreAt(t, suite.store, bs...)
}
