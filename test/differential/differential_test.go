package differential

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-build/kiln/test/harness"
	"github.com/kiln-build/kiln/test/oracletest"
)

var update = flag.Bool("update", false, "run the BuildKit oracle and rewrite the golden files it disagrees with")

// oracleEnv turns the oracle on: every case is also built by BuildKit and a
// golden that no longer matches the oracle fails (CI sets it once a run).
const oracleEnv = "KILN_TEST_ORACLE"

// suite is what every case of one run shares.
type suite struct {
	reg     *harness.Registry
	oracle  *oracletest.Oracle // nil unless the oracle runs
	version string             // BuildKit's, from test/oracle/go.mod
	pending map[string]listEntry
	allowed map[string]listEntry
	multi   bool // busybox:multi is in the registry (it needs qemu-user-static)
}

func TestMain(m *testing.M) { os.Exit(harness.Main(m)) }

// TestDifferential builds every case with kiln and compares the image with
// the oracle's golden (and, with KILN_TEST_ORACLE=1 or -update, first
// rebuilds the golden with BuildKit). A case that diverges must be in
// pending.txt (work to do) or allowlist.txt (kept on purpose); a listed
// case that matches fails too, so the lists stay honest.
func TestDifferential(t *testing.T) {
	harness.Require(t, "docker-registry", "skopeo")
	env := &suite{version: buildkitVersion(t)}
	env.pending = readList(t, pendingFile)
	env.allowed = readList(t, allowlistFile)
	env.reg = harness.StartRegistry(t)
	pushBases(t, env)
	if os.Getenv(oracleEnv) != "" || *update {
		env.oracle = oracletest.Start(t, env.reg)
	}
	for _, c := range loadCases(t) {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			runCase(t, env, c)
		})
	}
}

// pushBases puts the test base images in the registry under the names the
// cases use: busybox:test; busybox:docker, the same image with Docker
// media types (as most of Docker Hub still serves); busybox:multi.
func pushBases(t *testing.T, env *suite) {
	t.Helper()
	env.reg.Push(t, harness.Busybox, "library/busybox:test")
	out, err := exec.Command("skopeo", "copy", "--quiet", "--format", "v2s2", "--dest-tls-verify=false",
		"oci-archive:"+harness.Busybox.OCITar(t), "docker://"+env.reg.Addr+"/library/busybox:docker").CombinedOutput()
	if err != nil {
		t.Fatalf("skopeo copy busybox:docker: %v\n%s", err, out)
	}
	if harness.Missing("qemu-aarch64-static", "dpkg-deb") == "" {
		if _, why := harness.Arm64BusyboxDeb(t); why == "" {
			env.reg.Push(t, harness.BusyboxMulti, "library/busybox:multi")
			env.multi = true
		}
	}
}

func runCase(t *testing.T, env *suite, c *testCase) {
	dockerfile, _ := os.ReadFile(filepath.Join(c.dir, "Dockerfile"))
	if !env.multi && bytes.Contains(dockerfile, []byte("busybox:multi")) {
		t.Skip("busybox:multi needs qemu-user-static and the arm64 busybox deb")
	}
	input := c.inputDigest(t, env.version)
	golden, ok := readGolden(t, c.name)
	if env.oracle != nil {
		got := buildOracle(t, env.oracle, c)
		got.Input = input
		if c.error != "" && (!got.Fails || !strings.Contains(got.Error, c.error)) {
			t.Fatalf("the oracle must fail with %q; it gave:\n%s", c.error, got.Error)
		}
		switch {
		case *update:
			writeGolden(t, c.name, got)
			golden, ok = got, true
		case !ok || goldenJSON(t, withoutError(golden)) != goldenJSON(t, withoutError(got)):
			t.Fatalf("golden %s is stale (the oracle now gives another result): rewrite it with -update\n%s",
				c.name, strings.Join(diffResults(golden, got), "\n"))
		}
	}
	switch {
	case !ok:
		t.Fatalf("no golden for %s: run %s=1 go test ./test/differential -run 'TestDifferential/%s$' -update", c.name, oracleEnv, c.name)
	case golden.Input != input:
		t.Fatalf("golden %s is stale (the case or BuildKit's version changed): run %s=1 go test ./test/differential -run 'TestDifferential/%s$' -update", c.name, oracleEnv, c.name)
	}
	got := buildKiln(t, env, c)
	diffs := diffResults(golden, got)
	if c.error != "" && got.Fails && !strings.Contains(got.Error, c.error) {
		diffs = append(diffs, "kiln's error does not say "+`"`+c.error+`": `+firstLine(got.Error))
	}
	judge(t, env, c.name, diffs)
}

// judge passes a case that matches and is on no list, or diverges and is.
func judge(t *testing.T, env *suite, name string, diffs []string) {
	t.Helper()
	p, pending := env.pending[name]
	a, allowed := env.allowed[name]
	switch {
	case len(diffs) == 0 && pending:
		t.Errorf("kiln now matches BuildKit: remove %s from %s (it said: %s)", name, pendingFile, p.text)
	case len(diffs) == 0 && allowed:
		t.Errorf("kiln now matches BuildKit: remove %s from %s (it said: %s)", name, allowlistFile, a.text)
	case len(diffs) == 0:
	case pending:
		t.Logf("pending (%s): %s\n%s", p.cause, p.text, strings.Join(diffs, "\n"))
	case allowed:
		t.Logf("allowed: %s\n%s", a.text, strings.Join(diffs, "\n"))
	default:
		t.Errorf("kiln diverges from BuildKit %s:\n%s", env.version, strings.Join(diffs, "\n"))
	}
}

// withoutError leaves out the error text when a golden is checked against
// the oracle: BuildKit's messages name snapshot ids that change every run
// (failed to calculate checksum of ref 2ejx…::m4qp…); failing is compared.
func withoutError(r Result) Result {
	r.Error = ""
	return r
}

func writeGolden(t *testing.T, name string, r Result) {
	t.Helper()
	harness.MkdirAll(t, goldenDir)
	harness.WriteFile(t, filepath.Join(goldenDir, name+".json"), goldenJSON(t, r), 0o644)
}

func goldenJSON(t *testing.T, r Result) string {
	t.Helper()
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(data) + "\n"
}

// buildkitVersion reads the oracle's BuildKit version from its tool module.
func buildkitVersion(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "oracle", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "github.com/moby/buildkit" {
			return f[1]
		}
	}
	t.Fatal("test/oracle/go.mod names no github.com/moby/buildkit version")
	return ""
}
