package attest

import (
	"reflect"
	"strings"
	"testing"
)

func env(kv ...string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i] == k {
				return kv[i+1], true
			}
		}
		return "", false
	}
}

var defaultProv = &ProvenanceOpts{Mode: ModeMin, Version: VersionSLSA1, InlineOnly: true, Default: true}

func defaultSBOM() *SBOMOpts {
	return &SBOMOpts{Generator: DefaultGenerator, Params: map[string]string{}}
}

// The flags mean what they mean to buildx and BuildKit.
func TestParse(t *testing.T) {
	cases := []struct {
		name string
		f    Flags
		want Attestations
	}{
		{"nothing: buildx's default provenance", Flags{}, Attestations{Provenance: defaultProv}},
		{"default off by env", Flags{LookupEnv: env(NoDefaultEnv, "1")}, Attestations{}},
		{"env false keeps the default", Flags{LookupEnv: env(NoDefaultEnv, "false")}, Attestations{Provenance: defaultProv}},
		{"--provenance=true is max", Flags{Provenance: "true"}, Attestations{Provenance: &ProvenanceOpts{Mode: ModeMax, Version: VersionSLSA1}}},
		{"--provenance=false", Flags{Provenance: "false"}, Attestations{}},
		{"--provenance=mode=min", Flags{Provenance: "mode=min"}, Attestations{Provenance: &ProvenanceOpts{Mode: ModeMin, Version: VersionSLSA1}}},
		{"mode=full is max", Flags{Provenance: "mode=full"}, Attestations{Provenance: &ProvenanceOpts{Mode: ModeMax, Version: VersionSLSA1}}},
		{"every provenance attribute", Flags{Attest: []string{"type=provenance,mode=min,builder-id=https://ci.example/run/1,filename=prov.json,reproducible=true,inline-only=true,version=v0.2"}},
			Attestations{Provenance: &ProvenanceOpts{Mode: ModeMin, Version: VersionSLSA02, BuilderID: "https://ci.example/run/1", Filename: "prov.json", Reproducible: true, InlineOnly: true}}},
		{"explicit provenance even with the env", Flags{Attest: []string{"type=provenance"}, LookupEnv: env(NoDefaultEnv, "true")}, Attestations{Provenance: &ProvenanceOpts{Mode: ModeMax, Version: VersionSLSA1}}},
		{"--attest disabled", Flags{Attest: []string{"type=provenance,disabled=true"}}, Attestations{}},
		{"last --attest wins", Flags{Attest: []string{"type=provenance,mode=min", "type=provenance,mode=max"}}, Attestations{Provenance: &ProvenanceOpts{Mode: ModeMax, Version: VersionSLSA1}}},
		{"--provenance wins over --attest", Flags{Attest: []string{"type=provenance,mode=max"}, Provenance: "false"}, Attestations{}},
		{"--sbom=true", Flags{SBOM: "true"}, Attestations{Provenance: defaultProv, SBOM: defaultSBOM()}},
		{"--sbom=false", Flags{SBOM: "false"}, Attestations{Provenance: defaultProv}},
		{"sbom generator and parameters", Flags{Attest: []string{"type=sbom,generator=registry.example/scanner,select-catalogers=dpkg"}},
			Attestations{Provenance: defaultProv, SBOM: &SBOMOpts{Generator: "registry.example/scanner:latest", Params: map[string]string{"select-catalogers": "dpkg"}}}},
		{"generator by short name", Flags{SBOM: "generator=scanner:1"},
			Attestations{Provenance: defaultProv, SBOM: &SBOMOpts{Generator: "docker.io/library/scanner:1", Params: map[string]string{}}}},
		{"scan build arguments", Flags{SBOM: "true", BuildArgs: map[string]string{"BUILDKIT_SBOM_SCAN_CONTEXT": "true", "BUILDKIT_SBOM_SCAN_STAGE": "build,test"}},
			Attestations{Provenance: defaultProv, SBOM: &SBOMOpts{Generator: DefaultGenerator, Params: map[string]string{}, ScanContext: "true", ScanStage: "build,test"}}},
		{"BUILDKIT_ATTEST_ build argument", Flags{BuildArgs: map[string]string{"BUILDKIT_ATTEST_SBOM": ""}}, Attestations{Provenance: defaultProv, SBOM: defaultSBOM()}},
		{"quoted csv value", Flags{Attest: []string{`type=provenance,"builder-id=a,b"`}}, Attestations{Provenance: &ProvenanceOpts{Mode: ModeMax, Version: VersionSLSA1, BuilderID: "a,b"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.f.LookupEnv == nil {
				c.f.LookupEnv = env()
			}
			got, err := Parse(c.f)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got %s, want %s", show(got), show(c.want))
			}
		})
	}
}

func show(a Attestations) string {
	s := "{"
	if a.Provenance != nil {
		s += " provenance " + strings.TrimPrefix(strings.ReplaceAll(strings.ReplaceAll(fmtAny(*a.Provenance), "\n", " "), "  ", " "), " ")
	}
	if a.SBOM != nil {
		s += " sbom " + fmtAny(*a.SBOM)
	}
	return s + " }"
}

// Bad values are errors naming the flag's value, not silently ignored.
func TestParseErrors(t *testing.T) {
	cases := []struct {
		f    Flags
		want string
	}{
		{Flags{Attest: []string{"mode=max"}}, "attestation type not specified"},
		{Flags{Attest: []string{"type=signature"}}, `unknown attestation type "signature"`},
		{Flags{Attest: []string{"type=provenance,max"}}, "invalid value max"},
		{Flags{Provenance: "mode=fast"}, `invalid mode "fast"`},
		{Flags{Provenance: "version=v2"}, `invalid provenance SLSA version "v2"`},
		{Flags{Provenance: "reproducible=maybe"}, "reproducible"},
		{Flags{Provenance: "colour=blue"}, `unknown provenance attribute "colour"`},
		{Flags{Provenance: "capture-usage=true"}, "capture-usage=true is not supported yet"},
		{Flags{Attest: []string{"type=provenance,disabled=perhaps"}}, "invalid value disabled=perhaps"},
		{Flags{SBOM: "generator=Not A Ref"}, "invalid generator"},
		{Flags{LookupEnv: env(NoDefaultEnv, "yes please")}, "invalid " + NoDefaultEnv},
	}
	for _, c := range cases {
		if c.f.LookupEnv == nil {
			c.f.LookupEnv = env()
		}
		_, err := Parse(c.f)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: err = %v, want %q", c.f, err, c.want)
		}
	}
}

// Where each attestation goes, per output, as BuildKit's exporters decide.
func TestPlanFor(t *testing.T) {
	explicit := Attestations{Provenance: &ProvenanceOpts{Mode: ModeMax}, SBOM: &SBOMOpts{}}
	byDefault := Attestations{Provenance: defaultProv}
	cases := []struct {
		a      Attestations
		output string
		multi  bool
		want   Plan
	}{
		{byDefault, "image", false, Plan{Provenance: InIndex}},
		{byDefault, "registry", false, Plan{Provenance: InIndex}},
		{byDefault, "oci", false, Plan{}},
		{byDefault, "oci", true, Plan{Provenance: InIndex}},
		{byDefault, "docker", false, Plan{}},
		{byDefault, "docker", true, Plan{Provenance: InIndex}},
		{byDefault, "local", false, Plan{}},
		{byDefault, "tar", true, Plan{}},
		{byDefault, "cacheonly", false, Plan{}},
		{explicit, "image", false, Plan{InIndex, InIndex}},
		{explicit, "oci", false, Plan{InIndex, InIndex}},
		{explicit, "docker", false, Plan{InIndex, InIndex}},
		{explicit, "local", false, Plan{AsFile, AsFile}},
		{explicit, "tar", true, Plan{AsFile, AsFile}},
		{explicit, "cacheonly", false, Plan{}},
		{Attestations{}, "image", true, Plan{}},
	}
	for _, c := range cases {
		if got := c.a.PlanFor(c.output, c.multi); got != c.want {
			t.Errorf("%s (multi %v) with %s: %+v, want %+v", c.output, c.multi, show(c.a), got, c.want)
		}
	}
}

func TestFileNames(t *testing.T) {
	cases := map[string]string{
		ProvenanceOpts{}.ProvenanceFile():                          "provenance.json",
		ProvenanceOpts{Filename: "out/prov.json"}.ProvenanceFile(): "prov.json",
		SBOMFile("sbom"):    "sbom.spdx.json",
		SBOMFile("context"): "sbom-context.spdx.json",
		PlatformFile("provenance.json", "linux/arm/v7"): "provenance.linux_arm_v7.json",
	}
	for got, want := range cases {
		if got != want {
			t.Errorf("%s, want %s", got, want)
		}
	}
}

func TestScanEnabled(t *testing.T) {
	cases := []struct {
		value, stage string
		want         bool
	}{
		{"true", "build", true}, {"1", "x", true}, {"false", "build", false},
		{"build,test", "test", true}, {"build,test", "final", false}, {"", "build", false},
	}
	for _, c := range cases {
		if got := ScanEnabled(c.value, c.stage); got != c.want {
			t.Errorf("ScanEnabled(%q, %q) = %v", c.value, c.stage, got)
		}
	}
}
