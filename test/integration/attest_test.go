package integration

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-build/kiln/test/harness"
	"github.com/kiln-build/kiln/test/oracletest"
)

// attestEnv runs the attestation suite: it needs buildx (test/buildx/build.sh,
// or KILN_TEST_BUILDX naming its directory).
const attestEnv = "KILN_TEST_ATTEST"

const attestDockerfile = `FROM busybox:test
ARG GREETING=hello
RUN --mount=type=secret,id=token test -s /run/secrets/token && echo "$GREETING" > /greeting
ADD %s /file.txt
LABEL org.example.stage=final
`

// provenanceOf is what buildx imagetools inspect reads from ref's
// attestations: an independent client of BuildKit's layout.
func provenanceOf(t *testing.T, ref string) map[string]any {
	t.Helper()
	cmd := exec.Command(filepath.Join(oracletest.BuildxDir(t), "buildx"), "imagetools", "inspect", "--format", "{{json .Provenance}}", ref)
	cmd.Env = append(harness.Environ(), "DOCKER_CONFIG="+t.TempDir())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("buildx imagetools inspect %s: %v\n%s", ref, err, stderr.String())
	}
	var p struct {
		SLSA map[string]any
	}
	if err := json.Unmarshal(out, &p); err != nil || p.SLSA == nil {
		t.Fatalf("buildx imagetools inspect %s: no SLSA provenance (%v):\n%s", ref, err, out)
	}
	return p.SLSA
}

// TestProvenanceReadByBuildx pushes builds with provenance and reads it
// back with buildx: base image, ADD URL, build args by mode, the secret's
// id; the secret's value appears nowhere in the registry.
func TestProvenanceReadByBuildx(t *testing.T) {
	if os.Getenv(attestEnv) == "" {
		t.Skip("needs buildx: set " + attestEnv + "=1")
	}
	t.Parallel()
	requireSuite(t)
	reg := harness.StartRegistry(t)
	cfg := reg.Config(t, false)
	content := "hello from http\n"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte(content)) }))
	t.Cleanup(srv.Close)
	sum := sha256.Sum256([]byte(content))

	ctx := t.TempDir()
	writeFiles(t, ctx, map[string]string{"Dockerfile": strings.Replace(attestDockerfile, "%s", srv.URL+"/file.txt", 1)})
	const secret = "kiln-attest-secret-7f3c91d2"
	secretFile := filepath.Join(t.TempDir(), "token")
	writeFile(t, secretFile, secret, 0o600)
	base := storeDigest(t, suiteRoot(t), busyboxImage)

	for _, mode := range []string{"max", "min"} {
		t.Run(mode, func(t *testing.T) {
			ref := reg.Addr + "/team/attest:" + mode
			mustKilnIn(t, suiteRoot(t), cfg, "build", "--progress", "plain", "--provenance=mode="+mode,
				"--build-arg", "GREETING=hi", "--label", "org.example.cli=yes",
				"--secret", "id=token,src="+secretFile, "--push", "-t", ref, ctx)
			slsa := provenanceOf(t, ref)
			def := slsa["buildDefinition"].(map[string]any)
			deps := map[string]string{}
			for _, d := range def["resolvedDependencies"].([]any) {
				d := d.(map[string]any)
				for alg, v := range d["digest"].(map[string]any) {
					deps[d["uri"].(string)] = alg + ":" + v.(string)
				}
			}
			wantDeps := map[string]string{
				"pkg:docker/busybox@test?platform=linux%2Famd64": base,
				srv.URL + "/file.txt":                            "sha256:" + hex.EncodeToString(sum[:]),
			}
			for uri, d := range wantDeps {
				if deps[uri] != d {
					t.Errorf("resolvedDependencies[%s] = %q, want %q (all: %v)", uri, deps[uri], d, deps)
				}
			}
			if len(deps) != len(wantDeps) {
				t.Errorf("resolvedDependencies = %v, want %v", deps, wantDeps)
			}
			req := def["externalParameters"].(map[string]any)["request"].(map[string]any)
			args, _ := req["args"].(map[string]any)
			if mode == "max" {
				if args["build-arg:GREETING"] != "hi" || args["label:org.example.cli"] != "yes" {
					t.Errorf("mode=max args = %v, want the build arg and the label", args)
				}
				if s, _ := json.Marshal(req["secrets"]); !strings.Contains(string(s), `"id":"token"`) {
					t.Errorf("mode=max secrets = %s, want the id token", s)
				}
			} else if args["build-arg:GREETING"] != nil || args["label:org.example.cli"] != nil || req["secrets"] != nil {
				t.Errorf("mode=min request keeps args %v or secrets %v", args, req["secrets"])
			}
		})
	}
	// Every blob the registry holds: images, statements, manifests.
	hits := 0
	filepath.WalkDir(reg.Dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if data, err := os.ReadFile(p); err == nil && bytes.Contains(data, []byte(secret)) {
				t.Errorf("%s holds the secret's value", p)
				hits++
			}
		}
		return nil
	})
	if hits != 0 {
		t.Errorf("the secret's value is in %d registry files", hits)
	}
}
