package integration

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-build/kiln/test/harness"
)

const fanoutDockerfile = `FROM busybox:multi
ARG TARGETARCH
RUN echo "built for $TARGETARCH" > /arch.txt
COPY app.txt /app.txt
`

// rawIndex is the part of an index the fan-out test compares.
type rawIndex struct {
	MediaType string
	Manifests []struct {
		Digest   string
		Platform struct{ OS, Architecture string }
	}
}

// TestFanOutPushByDigest is the per-platform fan-out of docs/scale-out.md:
// two fresh stores stand in for two native nodes, each pushes its platform
// by digest (no tag), and `kiln imagetools create` stitches the digests
// from their --metadata-file into one index. Each platform's manifest, and
// the index, are the ones a single machine's `--platform a,b` build of the
// same Dockerfile pushes, digest for digest.
func TestFanOutPushByDigest(t *testing.T) {
	t.Parallel()
	harness.Require(t, "qemu-aarch64-static")
	reg := harness.StartRegistry(t)
	cfg := reg.Config(t, false)
	dir := t.TempDir()
	ctx := filepath.Join(dir, "ctx")
	writeFiles(t, ctx, map[string]string{"Dockerfile": fanoutDockerfile, "app.txt": "v1"})
	repo := reg.Addr + "/team/app"

	digests := map[string]string{}
	for _, p := range []string{"amd64", "arm64"} {
		node := filepath.Join(dir, "node-"+p)
		harness.NewStoreAt(t, node, harness.BusyboxMulti)
		meta := filepath.Join(dir, p+".json")
		mustKilnIn(t, node, cfg, "build", "--progress", "plain", "--platform", "linux/"+p, "--provenance=false",
			"-o", "type=image,name="+repo+",push-by-digest=true,name-canonical=true,push=true",
			"--metadata-file", meta, ctx)
		m := readMetadata(t, meta)
		if m["image.name"] != repo {
			t.Errorf("%s: metadata image.name = %v, want %s", p, m["image.name"], repo)
		}
		if m["containerimage.config.digest"] == nil {
			t.Errorf("%s: metadata has no containerimage.config.digest: %v", p, m)
		}
		d, _ := m["containerimage.digest"].(string)
		digests[p] = d
		// The pushed manifest is there by digest; name-canonical names it so in the store.
		skopeoOut(t, "inspect", "--raw", "--tls-verify=false", "docker://"+repo+"@"+d)
		if out := kilnIn(t, node, cfg, "images"); !strings.Contains(out.Stdout, "team/app@"+d) {
			t.Errorf("%s: the store has no %s@%s (name-canonical=true):\n%s", p, repo, d, out.Stdout)
		}
	}
	// distribution answers 404 for a repository without a tag.
	resp, err := http.Get("http://" + reg.Addr + "/v2/team/app/tags/list")
	if err != nil {
		t.Fatal(err)
	}
	var tags struct{ Tags []string }
	_ = json.NewDecoder(resp.Body).Decode(&tags)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || len(tags.Tags) != 0 {
		t.Errorf("push-by-digest tagged the repository: %s, tags %v", resp.Status, tags.Tags)
	}

	mustKilnIn(t, filepath.Join(dir, "node-amd64"), cfg, "imagetools", "create", "-t", repo+":v1",
		repo+"@"+digests["amd64"], repo+"@"+digests["arm64"])

	single := filepath.Join(dir, "single")
	harness.NewStoreAt(t, single, harness.BusyboxMulti)
	meta := filepath.Join(dir, "single.json")
	mustKilnIn(t, single, cfg, "build", "--progress", "plain", "--platform", "linux/amd64,linux/arm64", "--provenance=false",
		"-o", "type=image,name="+reg.Addr+"/team/single:v1,push=true", "--metadata-file", meta, ctx)

	stitched := skopeoOut(t, "inspect", "--raw", "--tls-verify=false", "docker://"+repo+":v1")
	whole := skopeoOut(t, "inspect", "--raw", "--tls-verify=false", "docker://"+reg.Addr+"/team/single:v1")
	var si, wi rawIndex
	if err := json.Unmarshal([]byte(stitched), &si); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(whole), &wi); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, m := range wi.Manifests {
		want[m.Platform.Architecture] = m.Digest
	}
	for p, d := range digests {
		if want[p] != d {
			t.Errorf("%s: the node pushed %s, the single-machine build %s", p, d, want[p])
		}
	}
	if len(si.Manifests) != 2 {
		t.Errorf("the stitched index has %d manifests, want 2:\n%s", len(si.Manifests), stitched)
	}
	if stitched != whole {
		t.Errorf("the stitched index differs from the single-machine build's:\nstitched: %s\nsingle:   %s", stitched, whole)
	}
	if d := readMetadata(t, meta)["containerimage.digest"]; d == nil {
		t.Errorf("the single-machine build's metadata has no digest")
	}

	// With buildx's default provenance a node pushes, and reports, its
	// attested form: the digest in --metadata-file is what the registry
	// has, and the stitched index takes over both platforms.
	var srcs []string
	for _, p := range []string{"amd64", "arm64"} {
		node := filepath.Join(dir, "node-"+p)
		meta := filepath.Join(dir, p+"-attested.json")
		mustKilnIn(t, node, cfg, "build", "--progress", "plain", "--platform", "linux/"+p,
			"-o", "type=image,name="+reg.Addr+"/team/attested,push-by-digest=true,push=true", "--metadata-file", meta, ctx)
		d, _ := readMetadata(t, meta)["containerimage.digest"].(string)
		skopeoOut(t, "inspect", "--raw", "--tls-verify=false", "docker://"+reg.Addr+"/team/attested@"+d)
		srcs = append(srcs, reg.Addr+"/team/attested@"+d)
	}
	mustKilnIn(t, filepath.Join(dir, "node-amd64"), cfg, append([]string{"imagetools", "create", "-t", reg.Addr + "/team/attested:v1"}, srcs...)...)
	var ai rawIndex
	if err := json.Unmarshal([]byte(skopeoOut(t, "inspect", "--raw", "--tls-verify=false", "docker://"+reg.Addr+"/team/attested:v1")), &ai); err != nil {
		t.Fatal(err)
	}
	arches := map[string]bool{}
	for _, m := range ai.Manifests {
		arches[m.Platform.Architecture] = true
	}
	if !arches["amd64"] || !arches["arm64"] {
		t.Errorf("the stitched attested index has %v, want amd64 and arm64", ai.Manifests)
	}
	t.Logf("stitched attested index: %d entries", len(ai.Manifests))
}

func readMetadata(t *testing.T, path string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("%s: %v\n%s", path, err, data)
	}
	return m
}

// TestBakePushByDigestMetadata: bake's --metadata-file holds, per target,
// what a build's would: the digest pushed by push-by-digest (reachable by
// that digest), the output's name= and the config digest.
func TestBakePushByDigestMetadata(t *testing.T) {
	t.Parallel()
	reg := harness.StartRegistry(t)
	st := harness.NewStore(t, harness.Busybox).WithConfig(reg.Config(t, false))
	dir := t.TempDir()
	repo := reg.Addr + "/team/baked"
	writeFiles(t, dir, map[string]string{
		"Dockerfile": "FROM busybox:test\nARG WHICH\nRUN echo $WHICH > /which\n",
		"docker-bake.hcl": `target "one" {
  args = { WHICH = "one" }
  output = ["type=image,name=` + repo + `,push-by-digest=true,name-canonical=true,push=true"]
  attest = ["type=provenance,disabled=true"]
}
target "two" {
  args = { WHICH = "two" }
  tags = ["example/two:1"]
}
`,
	})
	meta := filepath.Join(dir, "meta.json")
	mustBakeIn(t, st, dir, nil, "--metadata-file", meta, "one", "two")
	var m map[string]map[string]any
	data, err := os.ReadFile(meta)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	one := m["one"]
	if one["image.name"] != repo || one["containerimage.config.digest"] == nil {
		t.Errorf("metadata of one = %v, want image.name %s and a config digest", one, repo)
	}
	d, _ := one["containerimage.digest"].(string)
	raw := skopeoOut(t, "inspect", "--raw", "--tls-verify=false", "docker://"+repo+"@"+d)
	if !strings.Contains(raw, `"config"`) {
		t.Errorf("%s@%s is not an image manifest:\n%s", repo, d, raw)
	}
	if m["two"]["image.name"] != "example/two:1" {
		t.Errorf("metadata of two = %v, want image.name example/two:1", m["two"])
	}
	if got := fileOf(t, st, "example/two:1", "/which"); got != "two" {
		t.Errorf("two's /which = %q", got)
	}
}
