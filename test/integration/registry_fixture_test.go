package integration

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"

	"github.com/kiln-build/kiln/test/harness"
)

// kilnIn runs kiln on the store root with the kiln.toml
// cfg ("" for none) and no proxy: every registry of these tests is on
// loopback, and a request that leaks to the internet must fail rather than
// be proxied.
func kilnIn(t *testing.T, root, cfg string, args ...string) result {
	t.Helper()
	return harness.Run(t, harness.Opts{Root: root, Config: cfg}, args...)
}

// mustKilnIn is kilnIn that fails the test unless kiln exits 0.
func mustKilnIn(t *testing.T, root, cfg string, args ...string) result {
	t.Helper()
	return harness.MustRun(t, harness.Opts{Root: root, Config: cfg}, args...)
}

// skopeoOut runs skopeo with args and returns its stdout.
func skopeoOut(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command("skopeo", args...)
	cmd.Env = harness.Environ()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("skopeo %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out)
}
