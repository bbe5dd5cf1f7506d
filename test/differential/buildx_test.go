package differential

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-build/kiln/test/harness"
	"github.com/kiln-build/kiln/test/oracletest"
)

// TestBuildxAgreesWithGoldens drives the oracle as users do, with buildx on
// a remote builder, and checks that it gives every golden that buildctl
// recorded: the goldens do not depend on buildctl and on the suite's
// mapping of buildx's flags. Cases with a `# syntax=` line are left out:
// buildx cannot keep the frontend from pulling the image it names (it has
// no --opt cmdline=). It runs with the oracle (KILN_TEST_ORACLE=1).
func TestBuildxAgreesWithGoldens(t *testing.T) {
	if os.Getenv(oracleEnv) == "" {
		t.Skip("needs the BuildKit oracle: set " + oracleEnv + "=1")
	}
	harness.Require(t, "docker-registry", "skopeo")
	env := &suite{version: buildkitVersion(t)}
	env.reg = harness.StartRegistry(t)
	pushBases(t, env)
	o := oracletest.Start(t, env.reg)
	for _, c := range loadCases(t) {
		dockerfile, _ := os.ReadFile(filepath.Join(c.dir, "Dockerfile"))
		if bytes.HasPrefix(dockerfile, []byte("# syntax=")) || (!env.multi && bytes.Contains(dockerfile, []byte("busybox:multi"))) {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			golden, ok := readGolden(t, c.name)
			if !ok {
				t.Fatalf("no golden for %s", c.name)
			}
			got := buildBuildx(t, o, c)
			if diffs := diffResults(golden, got); len(diffs) > 0 {
				t.Errorf("buildx and the golden (buildctl) differ:\n%s", strings.Join(diffs, "\n"))
			}
		})
	}
}

// buildBuildx builds the case with buildx build, without the provenance
// attestation buildx adds by default (the goldens compare images).
func buildBuildx(t *testing.T, o *oracletest.Oracle, c *testCase) Result {
	t.Helper()
	ctx := c.makeContext(t)
	tar := filepath.Join(t.TempDir(), "image.tar")
	args := append([]string{"build", "--progress", "plain", "--provenance=false", "--sbom=false",
		"--output", "type=oci,dest=" + tar}, c.flagsFor(ctx)...)
	r := o.Buildx(t, append(args, ctx)...)
	if r.Code != 0 {
		return Result{Fails: true, Error: errorLines(r.Stderr)}
	}
	return Result{Images: normalize(t, tar, testBases(t))}
}
