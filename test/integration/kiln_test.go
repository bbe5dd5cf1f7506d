package integration

import (
	"os"
	"testing"

	"github.com/kiln-build/kiln/test/harness"
)

// result is one kiln invocation: what it printed and how it exited.
type result = harness.Result

// runKiln runs the kiln binary on the test's store (see requireSuite) with extra environment
// variables env (K=V).
func runKiln(t *testing.T, env []string, args ...string) result {
	t.Helper()
	return runKilnRoot(t, suiteRoot(t), env, args...)
}

// mustKiln runs kiln and fails the test unless it exits 0.
func mustKiln(t *testing.T, env []string, args ...string) result {
	t.Helper()
	return mustKilnRoot(t, suiteRoot(t), env, args...)
}

// buildSpec is one `kiln build` with an OCI tar output. The Dockerfile is
// written outside the context, so contexts with the same files hash alike
// and a test's builds share cached steps.
type buildSpec = harness.BuildSpec

// build runs spec and returns kiln's result and the path of the OCI tar
// (which exists only if the build succeeded).
func build(t *testing.T, spec buildSpec) (result, string) {
	t.Helper()
	return suiteStore(t).Build(t, spec)
}

// mustBuild runs spec, fails the test unless it succeeds, and reads the image.
func mustBuild(t *testing.T, spec buildSpec) (result, *ociImage) {
	t.Helper()
	return suiteStore(t).MustBuild(t, spec)
}

// writeFiles writes files (slash paths relative to dir) with mode 0644.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	harness.WriteFiles(t, dir, files)
}

func writeFile(t *testing.T, path, data string, mode os.FileMode) {
	t.Helper()
	harness.WriteFile(t, path, data, mode)
}
