package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/kiln-build/kiln/test/harness"
)

// genScript is a generator that speaks BuildKit's scanner protocol: it lists
// the files under /pkgs of the scanned image as SPDX packages in an in-toto
// statement at $BUILDKIT_SCAN_DESTINATION/sbom.spdx.json. It proves the
// protocol (mounts, environment, output), not a scanner: syft's is
// tools/sbom-scanner.
const genScript = `set -eu
out="$BUILDKIT_SCAN_DESTINATION/sbom.spdx.json"
pkgs=""
for f in "$BUILDKIT_SCAN_SOURCE"/pkgs/*; do
  n=$(basename "$f")
  pkgs="$pkgs${pkgs:+,}{\"name\":\"$n\",\"versionInfo\":\"$(cat "$f")\",\"SPDXID\":\"SPDXRef-$n\"}"
done
printf '{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://spdx.dev/Document","predicate":{"spdxVersion":"SPDX-2.3","name":"%s","packages":[%s]}}' "${BUILDKIT_SCAN_NAME:-sbom}" "$pkgs" > "$out"
if touch "$BUILDKIT_SCAN_SOURCE/written" 2>/dev/null; then echo "the source is writable" >&2; exit 1; fi
`

type spdxStatement struct {
	PredicateType string `json:"predicateType"`
	Predicate     struct {
		Name     string `json:"name"`
		Packages []struct {
			Name        string `json:"name"`
			VersionInfo string `json:"versionInfo"`
		} `json:"packages"`
	} `json:"predicate"`
}

func (s spdxStatement) packages() []string {
	var out []string
	for _, p := range s.Predicate.Packages {
		out = append(out, p.Name+"@"+p.VersionInfo)
	}
	slices.Sort(out)
	return out
}

// TestSBOMGenerator runs a generator image (pushed to the test registry,
// named with generator=) on the built image with BuildKit's scanner
// protocol: its statement lands in the attestation manifest next to the
// provenance, and as sbom.spdx.json in a local output; attributes reach
// it as BUILDKIT_SCAN_<KEY>; its source is read-only.
func TestSBOMGenerator(t *testing.T) {
	t.Parallel()
	requireSuite(t)
	reg := harness.StartRegistry(t)
	cfg := reg.Config(t, false)
	root := suiteRoot(t)
	genCtx := t.TempDir()
	writeFiles(t, genCtx, map[string]string{
		"Dockerfile": "FROM busybox:test\nCOPY gen.sh /gen.sh\nENTRYPOINT [\"/bin/sh\", \"/gen.sh\"]\n",
		"gen.sh":     genScript,
	})
	gen := reg.Addr + "/tools/gen:1"
	mustKilnIn(t, root, cfg, "build", "--progress", "plain", "--provenance=false", "--push", "-t", gen, genCtx)

	ctx := t.TempDir()
	writeFiles(t, ctx, map[string]string{
		"Dockerfile": "FROM scratch\nCOPY pkgs /pkgs\n",
		"pkgs/zlib":  "1.3", "pkgs/musl": "1.2.5",
	})
	want := []string{"musl@1.2.5", "zlib@1.3"}

	saved := filepath.Join(t.TempDir(), "img.tar")
	mustKilnIn(t, root, cfg, "build", "--progress", "plain", "--attest", "type=sbom,generator="+gen+",name=custom",
		"--provenance=mode=min", "-o", "type=oci,dest="+saved, ctx)
	a := harness.ReadArchive(t, saved)
	if len(a.Images) != 1 || len(a.Attestations) != 1 {
		t.Fatalf("oci output: %d images, %d attestation manifests; want 1 and 1", len(a.Images), len(a.Attestations))
	}
	var m struct {
		Layers []struct {
			Digest      string
			Annotations map[string]string
		}
	}
	harness.ReadJSON(t, a.Blob(a.Attestations[0].Digest), &m)
	var types []string
	for _, l := range m.Layers {
		types = append(types, l.Annotations["in-toto.io/predicate-type"])
	}
	if !slices.Equal(types, []string{"https://spdx.dev/Document", "https://slsa.dev/provenance/v1"}) {
		t.Fatalf("attestation layers are %v, want the SBOM then the provenance", types)
	}
	var st spdxStatement
	harness.ReadJSON(t, filepath.Join(a.Layout, "blobs", "sha256", m.Layers[0].Digest[len("sha256:"):]), &st)
	if got := st.packages(); !slices.Equal(got, want) {
		t.Errorf("SBOM packages = %v, want %v", got, want)
	}
	if st.Predicate.Name != "custom" {
		t.Errorf("the generator saw BUILDKIT_SCAN_NAME=%q, want custom (name=custom)", st.Predicate.Name)
	}

	local := filepath.Join(t.TempDir(), "local")
	mustKilnIn(t, root, cfg, "build", "--progress", "plain", "--sbom=generator="+gen, "-o", "type=local,dest="+local, ctx)
	data, err := os.ReadFile(filepath.Join(local, "sbom.spdx.json"))
	if err != nil {
		t.Fatal(err)
	}
	var fileSt spdxStatement
	if err := json.Unmarshal(data, &fileSt); err != nil || !slices.Equal(fileSt.packages(), want) {
		t.Errorf("local sbom.spdx.json packages %v (%v), want %v", fileSt.packages(), err, want)
	}
	if _, err := os.Stat(filepath.Join(local, "provenance.json")); !os.IsNotExist(err) {
		t.Errorf("--sbom alone wrote provenance.json (the default provenance is inline-only): %v", err)
	}
}
