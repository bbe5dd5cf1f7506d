package differential

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/kiln-build/kiln/test/harness"
	"github.com/kiln-build/kiln/test/oracletest"
)

// progressCasesDir holds the cases whose step names are compared (the
// layout of casesDir); progressGoldenDir the oracle's names per case.
const (
	progressCasesDir  = "testdata/progress"
	progressGoldenDir = "testdata/progress-golden"
)

// progressGolden is what the oracle's --progress=rawjson named the build's
// steps: every vertex whose name has a bracketed prefix ("[base 2/4] RUN
// …", "[internal] load …"), once per vertex, sorted (parallel stages
// interleave). Exporter and auth vertices are each builder's own.
type progressGolden struct {
	Input string   `json:"input"`
	Steps []string `json:"steps"`
}

// TestProgressNames builds each progress case with kiln --progress=rawjson
// and compares its vertex names with the oracle's golden (with
// KILN_TEST_ORACLE=1 or -update, first rebuilt with BuildKit's buildctl,
// and checked against buildx's names too).
func TestProgressNames(t *testing.T) {
	harness.Require(t, "docker-registry", "skopeo")
	env := &suite{version: buildkitVersion(t)}
	env.reg = harness.StartRegistry(t)
	pushBases(t, env)
	if os.Getenv(oracleEnv) != "" || *update {
		env.oracle = oracletest.Start(t, env.reg)
	}
	for _, c := range loadCasesIn(t, progressCasesDir) {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			runProgressCase(t, env, c)
		})
	}
}

func runProgressCase(t *testing.T, env *suite, c *testCase) {
	dockerfile, _ := os.ReadFile(filepath.Join(c.dir, "Dockerfile"))
	if !env.multi && bytes.Contains(dockerfile, []byte("busybox:multi")) {
		t.Skip("busybox:multi needs qemu-user-static and the arm64 busybox deb")
	}
	input := c.inputDigest(t, env.version)
	path := filepath.Join(progressGoldenDir, c.name+".json")
	var golden progressGolden
	_, err := os.Stat(path)
	ok := err == nil
	if ok {
		harness.ReadJSON(t, path, &golden)
	}
	kiln := kilnSteps(t, env, c)
	if env.oracle != nil {
		raw := oracleSteps(t, env.oracle, c)
		got := progressGolden{Input: input, Steps: withoutDigests(raw)}
		switch {
		case *update:
			harness.MkdirAll(t, progressGoldenDir)
			data, _ := json.MarshalIndent(got, "", "  ")
			harness.WriteFile(t, path, string(data)+"\n", 0o644)
			golden, ok = got, true
		case !ok || !slices.Equal(golden.Steps, got.Steps):
			t.Fatalf("golden %s is stale (the oracle now gives other names): rewrite it with -update\n%s",
				path, stepDiff(golden.Steps, got.Steps))
		}
		// buildx, as users drive BuildKit, names the steps alike.
		if bx := buildxSteps(t, env.oracle, c); !slices.Equal(bx, raw) {
			t.Errorf("buildx and buildctl name the steps differently:\n%s", stepDiff(raw, bx))
		}
		// The goldens leave digests out (the test bases are built on each
		// machine); with the oracle at hand, kiln's must be the same.
		if d := stepDiff(raw, kiln); d != "" && slices.Equal(withoutDigests(raw), withoutDigests(kiln)) {
			t.Errorf("kiln names other digests than BuildKit:\n%s", d)
		}
	}
	switch {
	case !ok:
		t.Fatalf("no golden for %s: run %s=1 go test ./test/differential -run 'TestProgressNames/%s$' -update", c.name, oracleEnv, c.name)
	case golden.Input != input:
		t.Fatalf("golden %s is stale (the case or BuildKit's version changed): run %s=1 go test ./test/differential -run 'TestProgressNames/%s$' -update", path, oracleEnv, c.name)
	}
	if d := stepDiff(golden.Steps, withoutDigests(kiln)); d != "" {
		t.Errorf("kiln's step names differ from BuildKit %s's:\n%s", env.version, d)
	}
}

// kilnSteps builds the case with kiln --progress=rawjson on a store that
// holds the busybox base, as TestDifferential does.
func kilnSteps(t *testing.T, env *suite, c *testCase) []string {
	t.Helper()
	ctx := c.makeContext(t)
	s := harness.NewStore(t, harness.Busybox)
	s.Config = env.reg.Config(t, true)
	args := append([]string{"build", "--progress", "rawjson", "-o", "type=oci,dest=" + filepath.Join(t.TempDir(), "image.tar")}, c.flagsFor(ctx)...)
	r := s.Run(t, append(args, ctx)...)
	if r.Code != 0 {
		t.Fatalf("kiln build failed:\n%s", r)
	}
	return stepNames(t, r.Stderr)
}

// oracleBuilds serializes the oracle's builds: buildkitd shares a vertex
// between concurrent builds, and with it the name the first build gave it.
var oracleBuilds sync.Mutex

// oracleSteps builds the case with buildctl --progress=rawjson.
func oracleSteps(t *testing.T, o *oracletest.Oracle, c *testCase) []string {
	t.Helper()
	oracleBuilds.Lock()
	defer oracleBuilds.Unlock()
	ctx := c.makeContext(t)
	flags, err := buildctlFlags(c.flagsFor(ctx))
	if err != nil {
		t.Fatalf("case %s: %v", c.name, err)
	}
	args := append([]string{"build", "--progress", "rawjson", "--frontend", "dockerfile.v0",
		"--local", "context=" + ctx, "--local", "dockerfile=" + ctx, "--opt", "cmdline=",
		"--output", "type=oci,dest=" + filepath.Join(t.TempDir(), "image.tar")}, flags...)
	r := o.Buildctl(t, args...)
	if r.Code != 0 {
		t.Fatalf("buildctl build failed:\n%s", r)
	}
	return stepNames(t, r.Stderr)
}

// buildxSteps builds the case with buildx build --progress=rawjson.
func buildxSteps(t *testing.T, o *oracletest.Oracle, c *testCase) []string {
	t.Helper()
	oracleBuilds.Lock()
	defer oracleBuilds.Unlock()
	ctx := c.makeContext(t)
	args := append([]string{"build", "--progress", "rawjson", "--provenance=false", "--sbom=false",
		"--output", "type=oci,dest=" + filepath.Join(t.TempDir(), "image.tar")}, c.flagsFor(ctx)...)
	r := o.Buildx(t, append(args, ctx)...)
	if r.Code != 0 {
		t.Fatalf("buildx build failed:\n%s", r)
	}
	return stepNames(t, r.Stderr)
}

// stepNames reads a rawjson stream (one SolveStatus a line) and returns
// the bracketed vertex names, once per vertex digest, sorted.
func stepNames(t *testing.T, stream string) []string {
	t.Helper()
	byDigest := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(stream))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.HasPrefix(line, []byte("{")) {
			continue
		}
		var st struct {
			Vertexes []struct{ Digest, Name string }
		}
		if err := json.Unmarshal(line, &st); err != nil {
			t.Fatalf("not a SolveStatus: %v\n%s", err, line)
		}
		for _, v := range st.Vertexes {
			if v.Name != "" {
				byDigest[v.Digest] = v.Name
			}
		}
	}
	var names []string
	for _, n := range byDigest {
		if strings.HasPrefix(n, "[") && !strings.HasPrefix(n, "[auth]") {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names
}

var nameDigest = regexp.MustCompile(`@sha256:[0-9a-f]{64}`)

// withoutDigests writes "@sha256:…" for the image digests names carry.
func withoutDigests(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = nameDigest.ReplaceAllString(n, "@sha256:…")
	}
	slices.Sort(out)
	return out
}

// stepDiff lists the names only one side has ("-" want, "+" got).
func stepDiff(want, got []string) string {
	count := map[string]int{}
	for _, n := range want {
		count[n]++
	}
	for _, n := range got {
		count[n]--
	}
	var lines []string
	for _, n := range want {
		if count[n] > 0 {
			lines = append(lines, "- "+n)
			count[n]--
		}
	}
	for _, n := range got {
		if count[n] < 0 {
			lines = append(lines, "+ "+n)
			count[n]++
		}
	}
	return strings.Join(lines, "\n")
}
