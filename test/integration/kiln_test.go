package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// kilnTimeout bounds one kiln invocation (a cold Go build takes ~20-60 s).
const kilnTimeout = 5 * time.Minute

// result is one kiln invocation: what it printed and how it exited.
type result struct {
	args           []string
	stdout, stderr string
	code           int
}

// String shows the whole invocation, for failure messages.
func (r result) String() string {
	return fmt.Sprintf("kiln %s\nexit code %d\n--- stdout ---\n%s\n--- stderr ---\n%s",
		strings.Join(r.args, " "), r.code, r.stdout, r.stderr)
}

// runKiln runs the kiln binary on the shared store with extra environment
// variables env (K=V).
func runKiln(t *testing.T, env []string, args ...string) result {
	t.Helper()
	return runKilnRoot(t, suite.store, env, args...)
}

// mustKiln runs kiln and fails the test unless it exits 0.
func mustKiln(t *testing.T, env []string, args ...string) result {
	t.Helper()
	r := runKiln(t, env, args...)
	if r.code != 0 {
		t.Fatalf("kiln failed:\n%s", r)
	}
	return r
}

// buildSpec is one `kiln build` with an OCI tar output. The Dockerfile is
// written outside the context, so contexts with the same files hash alike
// and tests share cached steps.
type buildSpec struct {
	context    string // directory
	dockerfile string // text
	tag        string // -t, optional
	target     string // --target, optional
	args       []string
	env        []string
}

// build runs spec and returns kiln's result and the path of the OCI tar
// (which exists only if the build succeeded).
func build(t *testing.T, spec buildSpec) (result, string) {
	t.Helper()
	dir := t.TempDir()
	df := filepath.Join(dir, "Dockerfile")
	writeFile(t, df, spec.dockerfile, 0o644)
	tar := filepath.Join(dir, "image.tar")
	args := []string{"build", "--progress", "plain", "-f", df, "-o", "type=oci,dest=" + tar}
	if spec.tag != "" {
		args = append(args, "-t", spec.tag)
	}
	if spec.target != "" {
		args = append(args, "--target", spec.target)
	}
	args = append(args, spec.args...)
	args = append(args, spec.context)
	return runKiln(t, spec.env, args...), tar
}

// mustBuild runs spec, fails the test unless it succeeds, and reads the image.
func mustBuild(t *testing.T, spec buildSpec) (result, *ociImage) {
	t.Helper()
	r, tar := build(t, spec)
	if r.code != 0 {
		t.Fatalf("build failed:\n%s", r)
	}
	return r, readOCITar(t, tar, r)
}

// writeFiles writes files (slash paths relative to dir) with mode 0644.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, p, data, 0o644)
	}
}

func writeFile(t *testing.T, path, data string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
}
