package integration

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
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

// sbomOf is the SPDX statement in an OCI archive's attestation manifest.
func sbomOf(t *testing.T, tar string) spdxStatement {
	t.Helper()
	a := harness.ReadArchive(t, tar)
	if len(a.Attestations) != 1 {
		t.Fatalf("%s: %d attestation manifests, want 1", tar, len(a.Attestations))
	}
	var m struct {
		Layers []struct {
			Digest      string
			Annotations map[string]string
		}
	}
	harness.ReadJSON(t, a.Blob(a.Attestations[0].Digest), &m)
	for _, l := range m.Layers {
		if l.Annotations["in-toto.io/predicate-type"] == "https://spdx.dev/Document" {
			var st spdxStatement
			harness.ReadJSON(t, filepath.Join(a.Layout, "blobs", "sha256", strings.TrimPrefix(l.Digest, "sha256:")), &st)
			return st
		}
	}
	t.Fatalf("%s: no SPDX statement in the attestation manifest", tar)
	return spdxStatement{}
}

// TestSBOMMatchesOracle runs one generator image (the protocol-speaking
// one of TestSBOMGenerator, in the test registry) from kiln and from the
// BuildKit oracle on the same build: the SBOMs list the same packages.
func TestSBOMMatchesOracle(t *testing.T) {
	if os.Getenv(attestEnv) == "" {
		t.Skip("needs the BuildKit oracle and buildx: set " + attestEnv + "=1")
	}
	t.Parallel()
	requireSuite(t)
	reg := harness.StartRegistry(t)
	cfg := reg.Config(t, false)
	genCtx := t.TempDir()
	writeFiles(t, genCtx, map[string]string{
		"Dockerfile": "FROM busybox:test\nCOPY gen.sh /gen.sh\nENTRYPOINT [\"/bin/sh\", \"/gen.sh\"]\n",
		"gen.sh":     genScript,
	})
	gen := reg.Addr + "/tools/gen:1"
	mustKilnIn(t, suiteRoot(t), cfg, "build", "--progress", "plain", "--provenance=false", "--push", "-t", gen, genCtx)
	ctx := t.TempDir()
	writeFiles(t, ctx, map[string]string{"Dockerfile": "FROM scratch\nCOPY pkgs /pkgs\n", "pkgs/zlib": "1.3", "pkgs/musl": "1.2.5"})
	o := oracletest.Start(t, reg)

	flags := []string{"build", "--progress", "plain", "--provenance=false", "--sbom=generator=" + gen}
	kilnTar, oracleTar := filepath.Join(t.TempDir(), "kiln.tar"), filepath.Join(t.TempDir(), "oracle.tar")
	mustKilnIn(t, t.TempDir(), cfg, append(flags, "-o", "type=oci,dest="+kilnTar, ctx)...)
	if r := o.Buildx(t, append(flags, "-o", "type=oci,dest="+oracleTar, ctx)...); r.Code != 0 {
		t.Fatalf("oracle build:\n%s", r)
	}
	k, b := sbomOf(t, kilnTar).packages(), sbomOf(t, oracleTar).packages()
	if len(b) != 2 || !reflect.DeepEqual(k, b) {
		t.Errorf("SBOM packages: kiln %v, oracle %v", k, b)
	}
	// Pushed, buildx imagetools reads kiln's SBOM as its own.
	ref := reg.Addr + "/kiln/sbom:1"
	mustKilnIn(t, t.TempDir(), cfg, append(flags, "--push", "-t", ref, ctx)...)
	cmd := exec.Command(filepath.Join(oracletest.BuildxDir(t), "buildx"), "imagetools", "inspect", "--format", "{{json .SBOM}}", ref)
	cmd.Env = append(harness.Environ(), "DOCKER_CONFIG="+t.TempDir())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("buildx imagetools inspect --format '{{json .SBOM}}' %s: %v\n%s", ref, err, out)
	}
	var doc struct {
		SPDX struct {
			Packages []struct{ Name, VersionInfo string } `json:"packages"`
		}
	}
	if err := json.Unmarshal(out, &doc); err != nil || len(doc.SPDX.Packages) != 2 {
		t.Errorf("buildx reads the SBOM of %s as %s (%v), want its two packages", ref, out, err)
	}
}
