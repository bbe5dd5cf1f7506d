package scope

import (
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-build/kiln/internal/dockerfile"
)

func TestExpand(t *testing.T) {
	env := []string{"A=1", "B=two words", "A=3"}
	tests := []struct {
		word   string
		escape rune
		want   string
	}{
		{"$A", '\\', "3"},
		{"${B}-x", '\\', "two words-x"},
		{"${UNSET:-def}", '\\', "def"},
		{`\$A`, '\\', "$A"},
		{"`$A", '`', "$A"},
		{`"q $A"`, '\\', "q 3"},
	}
	for _, tt := range tests {
		got, err := Expand(tt.word, tt.escape, env)
		if err != nil || got != tt.want {
			t.Errorf("Expand(%q) = %q, %v; want %q", tt.word, got, err, tt.want)
		}
	}
}

func TestPredefined(t *testing.T) {
	build := ocispec.Platform{OS: "linux", Architecture: "amd64"}
	target := ocispec.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}
	got := Map(Predefined(build, target, "", map[string]string{"TARGETOS": "freebsd", "OTHER": "x"}))
	want := map[string]string{
		"BUILDPLATFORM": "linux/amd64", "BUILDARCH": "amd64", "TARGETPLATFORM": "linux/arm/v7",
		"TARGETARCH": "arm", "TARGETVARIANT": "v7", "TARGETOS": "freebsd", "TARGETSTAGE": "default",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if _, ok := got["OTHER"]; ok || len(got) != 11 {
		t.Errorf("predefined ARGs %v: want BuildKit's 11, a build arg overriding only those", got)
	}
}

func metaArgs(t *testing.T, src string) []instructions.ArgCommand {
	t.Helper()
	df, err := dockerfile.Parse("Dockerfile", []byte(src+"FROM scratch\n"))
	if err != nil {
		t.Fatal(err)
	}
	return df.MetaArgs
}

func TestGlobals(t *testing.T) {
	pre := []KV{{Key: "TARGETARCH", Value: "arm64"}}
	args := metaArgs(t, "ARG A=1\nARG B=${A}-$TARGETARCH\nARG C\nARG D=d\n")
	env, _, err := Globals(pre, args, '\\', map[string]string{"D": "given", "C": "c"})
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(Env(env), " ")
	if want := "TARGETARCH=arm64 A=1 B=1-arm64 C=c D=given"; got != want {
		t.Errorf("globals %q, want %q", got, want)
	}
	env, _, _ = Globals(nil, metaArgs(t, "ARG UNSET\n"), '\\', nil)
	if len(env) != 0 {
		t.Errorf("an ARG without default or build arg is set: %v", env)
	}
	_, failed, err := Globals(nil, metaArgs(t, "ARG OK=1\nARG BAD=${OK:?needs}${NOPE:?missing}\n"), '\\', nil)
	if err == nil || failed == nil || failed.Args[0].Key != "BAD" {
		t.Errorf("failed expansion: err %v, failed %+v; want BAD's ARG", err, failed)
	}
}

func TestArgValue(t *testing.T) {
	def := "${V}-d"
	expand := func(w string) (string, error) { return Expand(w, '\\', []string{"V=s"}) }
	buildArgs, globals := map[string]string{"B": "given"}, map[string]string{"G": "global", "B": "global"}
	for _, tc := range []struct {
		kv   instructions.KeyValuePairOptional
		want string
		set  bool
	}{
		{instructions.KeyValuePairOptional{Key: "B"}, "given", true},
		{instructions.KeyValuePairOptional{Key: "G"}, "global", true},
		{instructions.KeyValuePairOptional{Key: "X", Value: &def}, "s-d", true},
		{instructions.KeyValuePairOptional{Key: "G", Value: &def}, "s-d", true}, // a default beats the global
		{instructions.KeyValuePairOptional{Key: "NONE"}, "", false},
	} {
		got, set, err := ArgValue(tc.kv, buildArgs, globals, expand)
		if err != nil || got != tc.want || set != tc.set {
			t.Errorf("ArgValue(%s) = %q %v %v, want %q %v", tc.kv.Key, got, set, err, tc.want, tc.set)
		}
	}
}

// As in BuildKit, an ARG given a value after the ENV of its name (here the
// base image's) wins for expansion and RUN; an ENV after it wins again.
// RUN gets the image's ENV with the other ARGs added; an unset ARG is in
// neither.
func TestStageEnvs(t *testing.T) {
	var a Args
	a.Set("A", "1", false)
	a.Set("B", "arg", false)
	a.Set("A", "2", false) // a redeclaration keeps its place
	a.Set("C", "", true)
	image := []string{"PATH=/bin", "B=env"}
	if got := strings.Join(a.ExpandEnv(image), " "); got != "PATH=/bin B=env A=2 B=arg" {
		t.Errorf("ExpandEnv = %q", got)
	}
	if got := strings.Join(a.RunEnv(image), " "); got != "PATH=/bin B=arg A=2" {
		t.Errorf("RunEnv = %q", got)
	}
	if v, _ := Expand("$B", '\\', a.ExpandEnv(image)); v != "arg" {
		t.Errorf("$B expands to %q, want the ARG's value", v)
	}

	a.EnvSet("B") // ENV B=env2
	image = []string{"PATH=/bin", "B=env2"}
	if got := strings.Join(a.ExpandEnv(image), " "); got != "B=arg PATH=/bin B=env2 A=2" {
		t.Errorf("after ENV: ExpandEnv = %q", got)
	}
	if got := strings.Join(a.RunEnv(image), " "); got != "PATH=/bin B=env2 A=2" {
		t.Errorf("after ENV: RunEnv = %q", got)
	}
	if v, _ := Expand("$B", '\\', a.ExpandEnv(image)); v != "env2" {
		t.Errorf("after ENV: $B expands to %q, want the ENV's value", v)
	}
}
