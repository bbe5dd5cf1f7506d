package differential

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-build/kiln/test/harness"
	"github.com/kiln-build/kiln/test/oracletest"
)

// callCasesDir holds cases of buildx's --call (the layout of casesDir, plus
// a "calls" file: one command line of build flags a line, e.g.
// "--call=outline,format=json --target base"); callGoldenDir what buildx
// printed for each.
const (
	callCasesDir  = "testdata/calls"
	callGoldenDir = "testdata/calls-golden"
)

type callGolden struct {
	Input   string       `json:"input"`
	Results []callResult `json:"results"`
}

// callResult is one call's standard output (the context directory
// written $CONTEXT) and exit status.
type callResult struct {
	Args   string `json:"args"`
	Stdout string `json:"stdout"`
	Code   int    `json:"code"`
}

// TestCalls runs each case's calls with kiln build and compares what it
// prints and its exit status with buildx's golden (with KILN_TEST_ORACLE=1
// or -update, first run with buildx on the oracle).
func TestCalls(t *testing.T) {
	harness.Require(t, "docker-registry", "skopeo")
	env := &suite{version: buildkitVersion(t)}
	if os.Getenv(oracleEnv) != "" || *update {
		env.reg = harness.StartRegistry(t)
		pushBases(t, env)
		env.oracle = oracletest.Start(t, env.reg)
	}
	for _, c := range loadCasesIn(t, callCasesDir) {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			runCallCase(t, env, c)
		})
	}
}

func runCallCase(t *testing.T, env *suite, c *testCase) {
	calls := readCalls(t, filepath.Join(c.dir, "calls"))
	input := c.inputDigest(t, env.version)
	path := filepath.Join(callGoldenDir, c.name+".json")
	var golden callGolden
	_, err := os.Stat(path)
	ok := err == nil
	if ok {
		harness.ReadJSON(t, path, &golden)
	}
	if env.oracle != nil {
		got := callGolden{Input: input}
		for _, args := range calls {
			ctx := c.makeContext(t)
			r := env.oracle.Buildx(t, append(append([]string{"build"}, args...), ctx)...)
			got.Results = append(got.Results, callResult{Args: strings.Join(args, " "), Stdout: strings.ReplaceAll(r.Stdout, ctx, "$CONTEXT"), Code: r.Code})
		}
		want, _ := json.MarshalIndent(got, "", "  ")
		have, _ := json.MarshalIndent(golden, "", "  ")
		switch {
		case *update:
			harness.MkdirAll(t, callGoldenDir)
			harness.WriteFile(t, path, string(want)+"\n", 0o644)
			golden, ok = got, true
		case !ok || string(want) != string(have):
			t.Fatalf("golden %s is stale (buildx now prints otherwise): rewrite it with -update\nbuildx:\n%s", path, want)
		}
	}
	switch {
	case !ok:
		t.Fatalf("no golden for %s: run %s=1 go test ./test/differential -run 'TestCalls/%s$' -update", c.name, oracleEnv, c.name)
	case golden.Input != input:
		t.Fatalf("golden %s is stale (the case or BuildKit's version changed): run %s=1 go test ./test/differential -run 'TestCalls/%s$' -update", path, oracleEnv, c.name)
	}
	s := harness.NewStore(t)
	for _, want := range golden.Results {
		ctx := c.makeContext(t)
		r := s.Run(t, append(append([]string{"build"}, strings.Fields(want.Args)...), ctx)...)
		got := strings.ReplaceAll(r.Stdout, ctx, "$CONTEXT")
		if got != want.Stdout || r.Code != want.Code {
			t.Errorf("kiln build %s: exit status %d, printed:\n%s\nbuildx: exit status %d, printed:\n%s", want.Args, r.Code, got, want.Code, want.Stdout)
		}
	}
}

// readCalls reads a calls file: one call's flags a line.
func readCalls(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var calls [][]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" && !strings.HasPrefix(line, "#") {
			calls = append(calls, strings.Fields(line))
		}
	}
	if len(calls) == 0 {
		t.Fatalf("%s lists no call", path)
	}
	return calls
}
