package attest

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	dockerfileversion "github.com/moby/buildkit/frontend/dockerfile/version"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

var amd64 = ocispec.Platform{OS: "linux", Architecture: "amd64"}

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "oracle", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// scratchBuild is the build of testdata/oracle/scratch.Dockerfile as the
// oracle ran it (see testdata/oracle/README.md).
func scratchBuild(t *testing.T) Build {
	return Build{
		Request: Request{
			Filename:  "Dockerfile",
			BuildArgs: map[string]string{"GREETING": "hi"},
			Labels:    map[string]string{"org.example.cli": "yes"},
		},
		Dockerfile:      readFixture(t, "scratch.Dockerfile"),
		Platform:        amd64,
		BuilderPlatform: &amd64,
		Locals:          []string{"dockerfile", "context"},
	}
}

// depsBuild is testdata/oracle/deps.Dockerfile: a registry base image, an
// ADD URL, an ADD git source and a secret mount.
func depsBuild(t *testing.T) Build {
	return Build{
		Request: Request{
			Filename:  "Dockerfile",
			BuildArgs: map[string]string{"GREETING": "hi", "SOURCE_DATE_EPOCH": "1700000000"},
			Labels:    map[string]string{"org.example.cli": "yes"},
			Target:    "final",
		},
		Dockerfile:      readFixture(t, "deps.Dockerfile"),
		Platform:        amd64,
		BuilderPlatform: &amd64,
		Images: []ImageSource{
			{Ref: "127.0.0.1:56441/busybox:1", Platform: &amd64, Digest: "sha256:a2007f8d506648c7232d1d2ede2b2d66a0c08a1d72176b3d5a1a6ee5cd92a572"},
			{Ref: "127.0.0.1:56441/busybox:1", Platform: &amd64, Digest: "sha256:a2007f8d506648c7232d1d2ede2b2d66a0c08a1d72176b3d5a1a6ee5cd92a572"},
		},
		HTTP:    []HTTPSource{{URL: "http://127.0.0.1:45509/file.txt", Digest: "sha256:9347bf9e5b6f42fa181ab19631e9011b836363d3a08b05a8faf318868be5882e"}},
		Git:     []GitSource{{URL: "git://127.0.0.1:35617/repo.git#main", Commit: "547c8bfbaf7bce863ab7317237b7bbf1540672bd"}},
		Secrets: []Secret{{ID: "token", Optional: true}},
		Locals:  []string{"context", "dockerfile"},
		Network: true,
	}
}

// The generator writes what BuildKit v0.34.2 wrote for the same builds,
// field for field, except for the documented divergences (oracleOnly).
func TestProvenanceMatchesOracle(t *testing.T) {
	cases := []struct {
		fixture string
		build   Build
		opts    ProvenanceOpts
	}{
		{"scratch-max.json", scratchBuild(t), ProvenanceOpts{Mode: ModeMax, Version: VersionSLSA1}},
		{"scratch-min.json", scratchBuild(t), ProvenanceOpts{Mode: ModeMin, Version: VersionSLSA1}},
		{"deps-max.json", depsBuild(t), ProvenanceOpts{Mode: ModeMax, Version: VersionSLSA1}},
		{"deps-min.json", depsBuild(t), ProvenanceOpts{Mode: ModeMin, Version: VersionSLSA1}},
	}
	v02 := scratchBuild(t)
	v02.Request.Labels = nil
	cases = append(cases, struct {
		fixture string
		build   Build
		opts    ProvenanceOpts
	}{"scratch-v02.json", v02, ProvenanceOpts{Mode: ModeMax, Version: VersionSLSA02}})
	for _, c := range cases {
		t.Run(c.fixture, func(t *testing.T) {
			st, err := Provenance(c.build, c.opts)
			if err != nil {
				t.Fatal(err)
			}
			got, err := st.ImageBytes()
			if err != nil {
				t.Fatal(err)
			}
			compareWithOracle(t, got, readFixture(t, c.fixture))
		})
	}
}

// Each platform of a multi-platform build records its own platform of the
// base image, and its target platform.
func TestProvenanceMultiPlatformMatchesOracle(t *testing.T) {
	for _, arch := range []string{"amd64", "arm64"} {
		p := ocispec.Platform{OS: "linux", Architecture: arch}
		b := Build{
			Request:         Request{Filename: "Dockerfile"},
			Platform:        p,
			BuilderPlatform: &amd64,
			Images:          []ImageSource{{Ref: "127.0.0.1:56441/multi:1", Platform: &p, Digest: "sha256:be42ace7fcc2580aeb6130ca317aa0836e954087f46eaba8747e5a95d0608a1c"}},
			Locals:          []string{"context", "dockerfile"},
		}
		st, err := Provenance(b, ProvenanceOpts{Mode: ModeMin, Version: VersionSLSA1})
		if err != nil {
			t.Fatal(err)
		}
		// The oracle's OCI output was named 127.0.0.1:56441/app:2.
		manifest := map[string]string{
			"amd64": "sha256:21fd7ee668218071adb377aab232143ab0801f785aa3422926c76eafeeeaab84",
			"arm64": "sha256:9648423a2d98cb6a0da98f718ac2c30381134e4edca4d436251a0e55695fea0e",
		}[arch]
		if st.Subject, err = ImageSubjects([]string{"127.0.0.1:56441/app:2"}, digestOf(manifest), p); err != nil {
			t.Fatal(err)
		}
		got, err := st.ImageBytes()
		if err != nil {
			t.Fatal(err)
		}
		compareWithOracle(t, got, readFixture(t, "multi-min-"+arch+".json"))
	}
}

// compareWithOracle compares two statements as JSON values after removing
// what kiln deliberately writes differently (docs/attestations.md).
func compareWithOracle(t *testing.T, got, oracle []byte) {
	t.Helper()
	var g, o map[string]any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("kiln's statement is not JSON: %v\n%s", err, got)
	}
	if err := json.Unmarshal(oracle, &o); err != nil {
		t.Fatal(err)
	}
	oracleOnly(o)
	if !reflect.DeepEqual(g, o) {
		gj, _ := json.MarshalIndent(g, "", "  ")
		oj, _ := json.MarshalIndent(o, "", "  ")
		t.Errorf("statement differs from BuildKit's\n--- kiln\n%s\n--- BuildKit (divergences removed)\n%s", gj, oj)
	}
}

// oracleOnly deletes from BuildKit's statement the fields kiln does not
// write: wall-clock times and the random invocation id (kiln derives them
// from SOURCE_DATE_EPOCH or leaves them out), and everything that names
// BuildKit's LLB steps (kiln has none): buildConfig, the source locations
// and the LLB of the Dockerfile's own load, the per-step layers.
func oracleOnly(st map[string]any) {
	p := st["predicate"].(map[string]any)
	var md map[string]any
	if rd, ok := p["runDetails"].(map[string]any); ok { // v1
		md = rd["metadata"].(map[string]any)
		delete(p["buildDefinition"].(map[string]any)["internalParameters"].(map[string]any), "buildConfig")
		delete(md, "invocationId")
		delete(md, "startedOn")
		delete(md, "finishedOn")
		md = md["buildkit_metadata"].(map[string]any)
	} else { // v0.2
		delete(p, "buildConfig")
		md = p["metadata"].(map[string]any)
		delete(md, "buildInvocationID")
		delete(md, "buildStartedOn")
		delete(md, "buildFinishedOn")
		md = md["https://mobyproject.org/buildkit@v1#metadata"].(map[string]any)
	}
	delete(md, "layers")
	if src, ok := md["source"].(map[string]any); ok {
		delete(src, "locations")
		for _, info := range src["infos"].([]any) {
			delete(info.(map[string]any), "llbDefinition")
			delete(info.(map[string]any), "digestMapping")
		}
	}
}

// In max mode the Dockerfile is in the statement byte for byte; in min
// mode it is not, nor are the build arguments and labels.
func TestProvenanceModes(t *testing.T) {
	b := depsBuild(t)
	max, err := Provenance(b, ProvenanceOpts{Mode: ModeMax, Version: VersionSLSA1})
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		RunDetails struct {
			Metadata struct {
				BuildKit struct {
					Source struct {
						Infos []struct {
							Filename string
							Data     []byte
						}
					}
				} `json:"buildkit_metadata"`
			}
		}
	}
	if err := json.Unmarshal(max.Predicate, &p); err != nil {
		t.Fatal(err)
	}
	infos := p.RunDetails.Metadata.BuildKit.Source.Infos
	if len(infos) != 1 || infos[0].Filename != "Dockerfile" || !bytes.Equal(infos[0].Data, b.Dockerfile) {
		t.Errorf("max mode embeds %+v, want the Dockerfile", infos)
	}
	min, err := Provenance(b, ProvenanceOpts{Mode: ModeMin, Version: VersionSLSA1})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"build-arg:", "label:", "GREETING", `"token"`, "RlJPTS"} {
		if bytes.Contains(min.Predicate, []byte(s)) {
			t.Errorf("min mode records %q:\n%s", s, min.Predicate)
		}
	}
	if !bytes.Contains(max.Predicate, []byte(`"build-arg:GREETING":"hi"`)) || !bytes.Contains(max.Predicate, []byte(`"id":"token"`)) {
		t.Errorf("max mode lost the build argument or the secret id:\n%s", max.Predicate)
	}
}

// With SOURCE_DATE_EPOCH the times are the epoch and the invocation id is
// derived: the same inputs give the same bytes; another request another id.
// Without it they are left out.
func TestProvenanceReproducible(t *testing.T) {
	epoch := time.Unix(1700000000, 0)
	b := depsBuild(t)
	b.Epoch = &epoch
	encode := func(b Build, o ProvenanceOpts) []byte {
		st, err := Provenance(b, o)
		if err != nil {
			t.Fatal(err)
		}
		data, err := st.ImageBytes()
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	opts := ProvenanceOpts{Mode: ModeMax, Version: VersionSLSA1}
	first := encode(b, opts)
	if !bytes.Equal(first, encode(b, opts)) {
		t.Fatal("the same build gave different provenance bytes")
	}
	md := metadata(t, first)
	if md.StartedOn != "2023-11-14T22:13:20Z" || md.FinishedOn != md.StartedOn || len(md.InvocationID) != 25 {
		t.Errorf("metadata %+v: want the epoch's time and a 25-character id", md)
	}
	arm := b
	arm.Platform = ocispec.Platform{OS: "linux", Architecture: "arm64"}
	if metadata(t, encode(arm, opts)).InvocationID != md.InvocationID {
		t.Error("the platforms of one build have different invocation ids")
	}
	other := b
	other.Request.Target = "base"
	if metadata(t, encode(other, opts)).InvocationID == md.InvocationID {
		t.Error("a different request has the same invocation id")
	}
	b.Epoch = nil
	if md := metadata(t, encode(b, opts)); md != (runMetadata{}) {
		t.Errorf("without an epoch the metadata has %+v", md)
	}
}

type runMetadata struct {
	InvocationID string `json:"invocationId"`
	StartedOn    string `json:"startedOn"`
	FinishedOn   string `json:"finishedOn"`
}

func metadata(t *testing.T, stmt []byte) runMetadata {
	t.Helper()
	var st struct {
		Predicate struct {
			RunDetails struct {
				Metadata runMetadata
			}
		}
	}
	if err := json.Unmarshal(stmt, &st); err != nil {
		t.Fatal(err)
	}
	return st.Predicate.RunDetails.Metadata
}

// The v0.2 form carries the same facts under v0.2's names.
func TestProvenanceV02(t *testing.T) {
	st, err := Provenance(depsBuild(t), ProvenanceOpts{Mode: ModeMin, Version: VersionSLSA02})
	if err != nil {
		t.Fatal(err)
	}
	if st.PredicateType != PredicateSLSA02 {
		t.Errorf("predicate type %s", st.PredicateType)
	}
	for _, s := range []string{`"buildType":"https://mobyproject.org/buildkit@v1"`, `"materials":[{"uri":"pkg:docker/127.0.0.1:56441/busybox@1?platform=linux%2Famd64"`, `"entryPoint":"Dockerfile"`} {
		if !strings.Contains(string(st.Predicate), s) {
			t.Errorf("v0.2 predicate lacks %s:\n%s", s, st.Predicate)
		}
	}
}

// A local output's provenance.json names every file of the output.
func TestProvenanceFileMatchesOracle(t *testing.T) {
	b := scratchBuild(t)
	b.Request.BuildArgs, b.Request.Labels = nil, nil
	st, err := Provenance(b, ProvenanceOpts{Mode: ModeMin, Version: VersionSLSA1})
	if err != nil {
		t.Fatal(err)
	}
	st.Subject = FileSubjects(map[string]digest.Digest{"hello.txt": digest.FromString("hi\n")})
	got, err := st.FileBytes()
	if err != nil {
		t.Fatal(err)
	}
	compareWithOracle(t, got, readFixture(t, "local-min.provenance.json"))
}

// BuildKit walks an output directory by directory.
func TestFileSubjectsOrder(t *testing.T) {
	subjects := FileSubjects(map[string]digest.Digest{"a.txt": "sha256:1", "a/b": "sha256:2", "B": "sha256:3"})
	var names []string
	for _, s := range subjects {
		names = append(names, s.Name)
	}
	if want := []string{"B", "a/b", "a.txt"}; !reflect.DeepEqual(names, want) {
		t.Errorf("subjects in order %v, want %v", names, want)
	}
}

// kiln's Dockerfile version is the one of the BuildKit module it parses
// Dockerfiles with (unreleased builds of BuildKit add "-dev").
func TestDockerfileVersion(t *testing.T) {
	if v := strings.TrimSuffix(dockerfileversion.Version(), "-dev"); v != DockerfileVersion {
		t.Errorf("DockerfileVersion = %s, BuildKit's frontend is %s", DockerfileVersion, v)
	}
}
