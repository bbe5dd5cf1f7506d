package plan

import (
	"errors"
	"testing"

	"github.com/containerd/platforms"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"

	"github.com/kiln-build/kiln/internal/dockerfile"
)

func argKV(key string) instructions.KeyValuePairOptional {
	return instructions.KeyValuePairOptional{Key: key}
}

func TestGlobalArgsInFrom(t *testing.T) {
	src := `ARG GO_VERSION=1.22
ARG BASE=golang:${GO_VERSION}-alpine
ARG PLAT
FROM ${BASE} AS builder
FROM --platform=${PLAT:-linux/arm/v7} alpine:$GO_VERSION
`
	tests := []struct {
		name       string
		buildArgs  map[string]string
		base, last string
		platform   string
	}{
		{"defaults", nil, "golang:1.22-alpine", "alpine:1.22", "linux/arm/v7"},
		{"build arg", map[string]string{"GO_VERSION": "1.23"}, "golang:1.23-alpine", "alpine:1.23", "linux/arm/v7"},
		{"override derived", map[string]string{"BASE": "debian:12", "PLAT": "linux/riscv64"}, "debian:12", "alpine:1.22", "linux/riscv64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustPlan(t, src, opts("", tt.buildArgs))
			if got := p.Stages[0].Base.Image; got != tt.base {
				t.Errorf("base %q, want %q", got, tt.base)
			}
			if got := p.Stages[1].Base.Image; got != tt.last {
				t.Errorf("last base %q, want %q", got, tt.last)
			}
			pl := p.Stages[1].Platform
			if pl == nil || platforms.Format(*pl) != tt.platform {
				t.Errorf("platform %v, want %s", pl, tt.platform)
			}
			if len(p.UnusedBuildArgs) != 0 {
				t.Errorf("unused build args %v", p.UnusedBuildArgs)
			}
		})
	}
}

func TestArgValue(t *testing.T) {
	src := "ARG V=global\nARG ONLYGLOBAL\nFROM alpine\nARG V\nARG X=$V-x\n"
	p := mustPlan(t, src, opts("", map[string]string{"ONLYSTAGE": "b"}))
	def := "${V}-d"
	tests := []struct {
		kv   instructions.KeyValuePairOptional
		env  []string
		want string
		ok   bool
	}{
		{argKV("V"), nil, "global", true},                                                        // redeclared global
		{argKV("ONLYGLOBAL"), nil, "", false},                                                    // declared without value
		{argKV("ONLYSTAGE"), nil, "b", true},                                                     // --build-arg
		{instructions.KeyValuePairOptional{Key: "X", Value: &def}, []string{"V=s"}, "s-d", true}, // default in stage env
		{argKV("TARGETARCH"), nil, "arm64", true},                                                // predefined
		{argKV("NOPE"), nil, "", false},
	}
	for _, tt := range tests {
		got, ok, err := p.ArgValue(tt.kv, tt.env)
		if err != nil || got != tt.want || ok != tt.ok {
			t.Errorf("ArgValue(%s) = %q %v %v, want %q %v", tt.kv.Key, got, ok, err, tt.want, tt.ok)
		}
	}
	if got := p.UnusedBuildArgs; len(got) != 1 || got[0] != "ONLYSTAGE" {
		// ONLYSTAGE is declared by no ARG at all.
		t.Errorf("UnusedBuildArgs = %v", got)
	}
}

func TestUnusedBuildArgs(t *testing.T) {
	src := "ARG A\nFROM alpine AS x\nARG B\nFROM alpine\nARG C\n"
	p := mustPlan(t, src, opts("", map[string]string{
		"A": "1", "B": "2", "C": "3", "Z": "4", "HTTP_PROXY": "p", "BUILDKIT_INLINE_CACHE": "1", "TARGETARCH": "s390x",
	}))
	if got := p.UnusedBuildArgs; len(got) != 2 || got[0] != "B" || got[1] != "Z" {
		t.Errorf("UnusedBuildArgs = %v, want [B Z] (B is only in a pruned stage)", got)
	}
	if p.Target.Args["TARGETARCH"] != "s390x" {
		t.Errorf("--build-arg does not override a predefined ARG")
	}
}

func TestCopyFromIndex(t *testing.T) {
	src := "FROM alpine\nRUN touch /a\nFROM busybox AS two\nFROM scratch\nCOPY --from=0 /a /a\nCOPY --from=TWO /b /b\n"
	p := mustPlan(t, src, opts("", nil))
	if p.Target.Refs["0"].Stage != p.Stages[0] || p.Target.Refs["TWO"].Stage != p.Stages[1] {
		t.Errorf("refs %v", p.Target.Refs)
	}
	if names(p.Order) != "stage-0,two,stage-2" {
		t.Errorf("Order %s", names(p.Order))
	}
}

func TestRunMountFrom(t *testing.T) {
	src := `FROM alpine AS tools
FROM alpine AS gomod
FROM golang AS build
RUN --mount=type=bind,from=tools,source=/bin,target=/t \
    --mount=type=cache,from=gomod,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache \
    --mount=from=0,target=/x \
    --mount=type=bind,from=alpine:3.20,target=/y true
`
	p := mustPlan(t, src, opts("", nil))
	b := p.Target
	if names(b.Deps) != "tools,gomod" {
		t.Errorf("Deps %s", names(b.Deps))
	}
	// BuildKit resolves mount from= by name only: "0" is an image name.
	if got := b.Images; len(got) != 2 || got[0] != "0" || got[1] != "alpine:3.20" {
		t.Errorf("Images %q", got)
	}
}

func TestFromNamesImageUnlessEarlierStage(t *testing.T) {
	src := "FROM later AS first\nFROM nginx AS nginx\nFROM nginx AS later\nFROM first\n"
	p := mustPlan(t, src, opts("", nil))
	if p.Stages[0].Base.Image != "later" {
		t.Errorf("FROM later: %v", p.Stages[0].Base)
	}
	if p.Stages[1].Base.Image != "nginx" {
		t.Errorf("FROM nginx AS nginx: %v", p.Stages[1].Base)
	}
	if p.Stages[2].Base.Stage != p.Stages[1] || p.Stages[3].Base.Stage != p.Stages[0] {
		t.Errorf("stage bases: %v %v", p.Stages[2].Base, p.Stages[3].Base)
	}
	if names(p.Order) != "first,stage-3" {
		t.Errorf("Order %s", names(p.Order))
	}
}

// An ONBUILD trigger of a base stage that names a stage of the file makes
// that stage a dependency of the stage that runs the trigger.
func TestOnbuildTriggerNamesStage(t *testing.T) {
	src := "FROM alpine AS src\nFROM alpine AS parent\nONBUILD COPY --from=src /x /y\nFROM parent\n"
	p := mustPlan(t, src, opts("", nil))
	if ref := p.Stages[2].Refs["src"]; ref.Stage != p.Stages[0] {
		t.Errorf("trigger's --from=src: %v, want the src stage", ref)
	}
	if names(p.Order) != "src,parent,stage-2" {
		t.Errorf("Order %s", names(p.Order))
	}
}

// A duplicate stage name builds, as in BuildKit: the later stage wins for
// --target and --from.
func TestDuplicateStageNameLaterWins(t *testing.T) {
	src := "FROM alpine AS build\nRUN true\nFROM debian AS Build\nFROM scratch\nCOPY --from=build /a /a\n"
	p := mustPlan(t, src, opts("", nil))
	if ref := p.Stages[2].Refs["build"]; ref.Stage != p.Stages[1] {
		t.Errorf("COPY --from=build: %v, want the second stage", ref)
	}
	if p := mustPlan(t, src, opts("build", nil)); p.Target.Index != 1 {
		t.Errorf("--target build is stage %d, want 1", p.Target.Index)
	}
}

func TestStagePlatformInherited(t *testing.T) {
	src := "FROM --platform=linux/amd64 alpine AS a\nFROM --platform=linux/s390x a AS b\n"
	p := mustPlan(t, src, opts("", nil))
	if pl := p.Stages[1].Platform; pl == nil || platforms.Format(*pl) != "linux/amd64" {
		t.Errorf("b platform %v, want base stage's linux/amd64", pl)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name, src, target, want string
	}{
		{"unknown target", pattern2, "prod",
			`target stage "prod" could not be found (stages: base, development, builder, production)`},
		{"copy from later stage", "FROM alpine AS a\nRUN true\nCOPY --from=b /x /x\nFROM alpine AS b\n", "a",
			`Dockerfile:3: cannot copy from stage "b", it needs to be defined before current stage "a"`},
		{"copy from later index", "FROM alpine\nCOPY --from=1 /x /x\nFROM alpine\nFROM scratch\nCOPY --from=0 / /\n", "",
			`Dockerfile:2: cannot copy from stage "1", it needs to be defined before current stage "stage-0"`},
		{"mount from later stage", "FROM alpine AS a\nRUN --mount=from=b,target=/b true\nFROM alpine AS b\n", "a",
			`Dockerfile:2: cannot use stage "b" in RUN --mount, it needs to be defined before current stage "a"`},
		{"copy from itself", "FROM busybox AS stage0\nCOPY --from=stage0 f1 /sub/\nFROM scratch\n", "",
			"Dockerfile:2: circular dependency detected on stage: stage0"},
		{"cycle", "FROM busybox AS stage0\nCOPY --from=stage2 f1 /sub/\nFROM busybox AS stage1\nCOPY --from=stage0 f2 /sub/\nFROM busybox AS stage2\nCOPY --from=stage1 f2 /sub/\n", "",
			"Dockerfile:2: circular dependency detected on stage: stage0"},
		{"invalid index", "FROM alpine\nCOPY --from=3 /a /a\n", "", "Dockerfile:2: invalid stage index 3"},
		{"variable in copy from", "ARG S=a\nFROM alpine AS a\nFROM alpine\nCOPY --from=$S /a /a\n", "",
			"Dockerfile:4: variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround"},
		{"blank base", "ARG IMG\nFROM $IMG\n", "", "Dockerfile:2: base name ($IMG) should not be blank"},
		{"invalid image", "FROM alpine AS a\nFROM Alpine\n", "",
			`Dockerfile:2: invalid image reference "Alpine": could not parse reference: Alpine`},
		{"empty platform", "ARG P\nFROM --platform=$P alpine\n", "", "Dockerfile:2: empty platform value from expression $P"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := planErr(t, tt.src, opts(tt.target, nil))
			if err.Error() != tt.want {
				t.Errorf("error\n got %q\nwant %q", err.Error(), tt.want)
			}
		})
	}
}

func TestErrorTypes(t *testing.T) {
	err := planErr(t, "FROM alpine AS a\nFROM alpine AS b\n", opts("c", nil))
	var te *TargetError
	if !errors.As(err, &te) || te.Target != "c" || len(te.Stages) != 2 {
		t.Errorf("want *TargetError, got %#v", err)
	}
	err = planErr(t, "FROM alpine\nCOPY --from=stage-0 a b\nFROM alpine AS stage-0\nCOPY --from=0 a b\n", opts("", nil))
	var le *dockerfile.LocationError
	if !errors.As(err, &le) || le.Line != 2 {
		t.Errorf("want *LocationError on line 2, got %#v", err)
	}
}

func TestBrokenStagesPruned(t *testing.T) {
	src := `FROM alpine AS broken
RUN exit 1
COPY --from=later /x /x
FROM alpine AS ok
RUN true
FROM alpine AS later
`
	p := mustPlan(t, src, opts("ok", nil))
	if names(p.Order) != "ok" || names(p.Pruned) != "broken,later" {
		t.Errorf("Order %s Pruned %s", names(p.Order), names(p.Pruned))
	}
	// The same file fails when the broken stage is needed.
	err := planErr(t, src, opts("broken", nil))
	if want := `Dockerfile:3: cannot copy from stage "later", it needs to be defined before current stage "broken"`; err.Error() != want {
		t.Errorf("got %q", err)
	}
}

func TestDeterministic(t *testing.T) {
	for range 20 {
		p := mustPlan(t, pattern3, opts("production", map[string]string{"Z": "1", "Y": "2", "X": "3"}))
		if names(p.Order) != "base,dependencies,builder,production" || len(p.UnusedBuildArgs) != 3 ||
			p.UnusedBuildArgs[0] != "X" || p.UnusedBuildArgs[2] != "Z" {
			t.Fatalf("Order %s unused %v", names(p.Order), p.UnusedBuildArgs)
		}
	}
}
