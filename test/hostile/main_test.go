// Package hostile is the hostile-input suite: each case feeds kiln input
// an attacker controls and checks it ends in success inside its root or in
// a clear error, with nothing read or written outside the context and the
// store. Every test runs in parallel on its own store.
package hostile

import (
	"os"
	"testing"

	"github.com/kiln-build/kiln/test/harness"
)

func TestMain(m *testing.M) { os.Exit(harness.Main(m)) }

// canary is a value in kiln's environment that no output may show.
const canary = "kiln-hostile-canary-4f1d"
