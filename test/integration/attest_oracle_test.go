package integration

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kiln-build/kiln/test/harness"
	"github.com/kiln-build/kiln/test/oracletest"
)

// TestProvenanceMatchesOracle builds one Dockerfile (a registry base image,
// an ADD URL, a secret mount, build args and a label) with kiln and with
// the BuildKit oracle driven by buildx, the same flags, both pushed to one
// registry, and reads both provenances with buildx: the resolved
// dependencies and the request's parameters are equal. Needs the oracle
// and buildx (KILN_TEST_ATTEST=1, KILN_TEST_BUILDKIT/KILN_TEST_BUILDX or
// their build.sh).
func TestProvenanceMatchesOracle(t *testing.T) {
	if os.Getenv(attestEnv) == "" {
		t.Skip("needs the BuildKit oracle and buildx: set " + attestEnv + "=1")
	}
	t.Parallel()
	harness.Require(t, "docker-registry", "skopeo")
	reg := harness.StartRegistry(t)
	cfg := reg.Config(t, false)
	base := reg.Push(t, harness.Busybox, "team/busybox:1")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("hello from http\n")) }))
	t.Cleanup(srv.Close)
	df := strings.Replace(strings.Replace(attestDockerfile, "busybox:test", base, 1), "%s", srv.URL+"/file.txt", 1)
	ctx := t.TempDir()
	writeFiles(t, ctx, map[string]string{"Dockerfile": df})
	secretFile := filepath.Join(t.TempDir(), "token")
	writeFile(t, secretFile, "s3cr3t", 0o600)
	o := oracletest.Start(t, reg)

	for _, mode := range []string{"max", "min"} {
		t.Run(mode, func(t *testing.T) {
			flags := []string{"--provenance=mode=" + mode, "--build-arg", "GREETING=hi", "--label", "org.example.cli=yes",
				"--secret", "id=token,src=" + secretFile, "--push"}
			kilnRef, oracleRef := reg.Addr+"/kiln/app:"+mode, reg.Addr+"/oracle/app:"+mode
			mustKilnIn(t, t.TempDir(), cfg, append(append([]string{"build", "--progress", "plain"}, flags...), "-t", kilnRef, ctx)...)
			if r := o.Buildx(t, append(append([]string{"build", "--progress", "plain"}, flags...), "-t", oracleRef, ctx)...); r.Code != 0 {
				t.Fatalf("oracle build:\n%s", r)
			}
			kiln, oracle := provenanceOf(t, kilnRef), provenanceOf(t, oracleRef)
			if deps, _ := oracle["buildDefinition"].(map[string]any)["resolvedDependencies"].([]any); len(deps) != 2 {
				t.Fatalf("the oracle resolved %d dependencies, want 2 (the base image and the ADD URL): %v", len(deps), deps)
			}
			for _, field := range []string{"resolvedDependencies", "externalParameters"} {
				k, b := kiln["buildDefinition"].(map[string]any)[field], oracle["buildDefinition"].(map[string]any)[field]
				if !reflect.DeepEqual(k, b) {
					kj, _ := json.MarshalIndent(k, "", "  ")
					bj, _ := json.MarshalIndent(b, "", "  ")
					t.Errorf("%s differs:\nkiln:   %s\noracle: %s", field, kj, bj)
				}
			}
			ki := kiln["buildDefinition"].(map[string]any)["internalParameters"].(map[string]any)
			bi := oracle["buildDefinition"].(map[string]any)["internalParameters"].(map[string]any)
			for _, k := range []string{"builderPlatform", "targetPlatform", "dockerfileVersion"} {
				if ki[k] != bi[k] {
					t.Errorf("internalParameters.%s: kiln %v, oracle %v", k, ki[k], bi[k])
				}
			}
		})
	}
}
