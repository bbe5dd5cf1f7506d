package convert

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-build/kiln/internal/dockerfile"
	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/plan"
)

var amd64 = ocispec.Platform{OS: "linux", Architecture: "amd64"}

// fakeResolver knows the configs of a few images and counts its calls.
type fakeResolver struct {
	images map[string]*image.Image
	asked  []string
}

func (r *fakeResolver) ResolveImageConfig(_ context.Context, ref string, p ocispec.Platform) (*image.Image, error) {
	r.asked = append(r.asked, ref)
	img, ok := r.images[ref]
	if !ok {
		return nil, fmt.Errorf("%s: not found", ref)
	}
	img = img.Clone()
	img.Config.Platform = p
	return img, nil
}

func baseImage(env []string, onbuild ...string) *image.Image {
	img := image.New(amd64)
	img.Config.Config.Env = env
	img.Config.Config.OnBuild = onbuild
	img.Layers = []image.Layer{{DiffID: "sha256:base"}}
	return img
}

func convertGraph(t *testing.T, src, target string, r MetaResolver) *Graph {
	t.Helper()
	df, err := dockerfile.Parse("Dockerfile", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	p, err := plan.New(df, plan.Options{Target: target, BuildPlatform: amd64, TargetPlatform: amd64})
	if err != nil {
		t.Fatal(err)
	}
	g, err := Convert(context.Background(), p, GraphOptions{Platform: amd64, Epoch: epoch}, r)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

const multiStage = `ARG GO=1.22
FROM golang:${GO} AS build
ENV OUT=/out
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/root/.cache --mount=type=bind,from=tools,source=/bin,target=/t go build -o $OUT/app
FROM scratch AS unused
RUN never
FROM onbuilder AS final
COPY --from=build /out/app /app
COPY --from=alpine:3.20 /etc/os-release /etc/
WORKDIR /
USER 1000
CMD ["/app"]
`

// The graph of a multi-stage build: only the stages the target needs, each
// from its base, its filesystem instructions as vertices with what they
// read, the base's ONBUILD triggers first, the config and history at the end.
func TestConvertGraph(t *testing.T) {
	r := &fakeResolver{images: map[string]*image.Image{
		"golang:1.22": baseImage([]string{"PATH=/usr/local/go/bin:/usr/bin", "GOPATH=/go"}),
		"onbuilder":   baseImage(nil, "ADD trigger.txt /trigger/", "ENV FROM_TRIGGER=1"),
		"tools":       baseImage(nil),
	}}
	g := convertGraph(t, multiStage, "", r)
	if got, want := r.asked, []string{"golang:1.22", "onbuilder"}; !reflect.DeepEqual(got, want) {
		t.Errorf("resolved %v, want %v (COPY --from and mount images are inputs, not bases)", got, want)
	}
	if len(g.Stages) != 2 || g.Stages[0].Stage.Name != "build" || g.Stages[1].Stage.Name != "final" {
		t.Fatalf("stages %v: want build and final (the unused stage pruned)", stageNames(g))
	}
	build, final := g.Stages[0], g.Stages[1]

	if got := vertexNames(build.StageGraph); !reflect.DeepEqual(got, []string{
		"WORKDIR /src", "COPY . .",
		"RUN --mount=type=cache,target=/root/.cache --mount=type=bind,from=tools,source=/bin,target=/t go build -o /out/app",
	}) {
		t.Errorf("build vertices %q", got)
	}
	run := build.Vertices[2]
	if run.Run == nil || run.Run.Cwd != "/src" || run.Step != 5 {
		t.Errorf("RUN vertex %+v: want a Run in /src at step 5", run)
	}
	if want := []Input{{Name: "tools", Ref: plan.Ref{Image: "tools"}}}; !reflect.DeepEqual(run.Inputs, want) {
		t.Errorf("RUN inputs %+v, want %+v", run.Inputs, want)
	}
	if !reflect.DeepEqual(run.Run.Env, []string{"PATH=/usr/local/go/bin:/usr/bin", "GOPATH=/go", "OUT=/out"}) {
		t.Errorf("RUN env %q: want the base image's ENV and the stage's", run.Run.Env)
	}
	if cp := build.Vertices[1].Copy; cp == nil || !cp.FromContext || cp.Dest != "/src/" {
		t.Errorf("COPY . . spec %+v: want the context into /src/", cp)
	}

	// The final stage: the base's triggers (ADD a vertex, ENV applied)
	// before its own instructions.
	if final.OnBuild != 2 || !final.Vertices[0].OnBuild || final.Vertices[0].Step != 0 {
		t.Errorf("final stage: OnBuild %d, first vertex %+v: want the ADD trigger first", final.OnBuild, final.Vertices[0])
	}
	if got := vertexNames(final.StageGraph); !reflect.DeepEqual(got, []string{
		"ADD trigger.txt /trigger/", "COPY --from=build /out/app /app", "COPY --from=alpine:3.20 /etc/os-release /etc/",
	}) {
		t.Errorf("final vertices %q (WORKDIR / makes no op)", got)
	}
	build0 := g.Stages[0].Stage
	if in := final.Vertices[1].Inputs; len(in) != 1 || in[0].Stage != build0 {
		t.Errorf("COPY --from=build inputs %+v: want the build stage", in)
	}
	if in := final.Vertices[2].Inputs; len(in) != 1 || in[0].Image != "alpine:3.20" || in[0].Stage != nil {
		t.Errorf("COPY --from=alpine inputs %+v: want the image", in)
	}

	img := final.Image
	if img.Config.Config.User != "1000" || !reflect.DeepEqual(img.Config.Config.Cmd, []string{"/app"}) {
		t.Errorf("final config %+v", img.Config.Config)
	}
	if img.Config.Config.OnBuild != nil {
		t.Errorf("ONBUILD triggers %q kept: a stage built on them clears them", img.Config.Config.OnBuild)
	}
	if !slices.Contains(img.Config.Config.Env, "FROM_TRIGGER=1") {
		t.Errorf("env %q: want the trigger's ENV", img.Config.Config.Env)
	}
	if len(img.Layers) != 1 {
		t.Errorf("final image has %d layers: conversion keeps only the base's", len(img.Layers))
	}
	var history []string
	for _, h := range img.Config.History {
		history = append(history, fmt.Sprintf("%s empty=%v", h.CreatedBy, h.EmptyLayer))
	}
	want := []string{
		"ADD trigger.txt /trigger/ # buildkit empty=false",
		"ENV FROM_TRIGGER=1 empty=true",
		"COPY /out/app /app # buildkit empty=false",
		"COPY /etc/os-release /etc/ # buildkit empty=false",
		"WORKDIR / empty=true",
		"USER 1000 empty=true",
		`CMD ["/app"] empty=true`,
	}
	if !reflect.DeepEqual(history, want) {
		t.Errorf("history\n%q\nwant\n%q", history, want)
	}
	for _, v := range final.Vertices {
		if h := img.Config.History[v.History]; h.CreatedBy != historyOf(v) {
			t.Errorf("vertex %q points at history %q", v.Name, h.CreatedBy)
		}
	}
	// Each vertex sees the stage as it was then: the COPY after the
	// trigger sees its ENV, not the USER set later.
	if v := final.Vertices[1]; v.State.Img.Config.Config.User != "" || !slices.Contains(v.State.Img.Env(), "FROM_TRIGGER=1") {
		t.Errorf("COPY --from=build state: user %q env %q", v.State.Img.Config.Config.User, v.State.Img.Env())
	}
}

// --target keeps the stages the target needs; a stage on another stage
// starts from that stage's converted config.
func TestConvertGraphTarget(t *testing.T) {
	src := "FROM scratch AS a\nENV A=1\nWORKDIR /a\nFROM a AS b\nRUN echo $A\nFROM scratch AS c\nRUN other\n"
	g := convertGraph(t, src, "b", &fakeResolver{})
	if got := stageNames(g); !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Fatalf("stages %v, want a and b", got)
	}
	b := g.Stages[1]
	if b.Stage.Base.Stage != g.Stages[0].Stage {
		t.Errorf("b's base %v: want stage a", b.Stage.Base)
	}
	v := b.Vertices[0]
	if v.Run == nil || v.Name != "RUN echo 1" || v.Run.Cwd != "/a" || !slices.Contains(v.Run.Env, "A=1") {
		t.Errorf("b's RUN %q %+v: want a's ENV and WORKDIR", v.Name, v.Run)
	}
}

// A conversion error names the file and line, before anything runs.
func TestConvertGraphError(t *testing.T) {
	df, err := dockerfile.Parse("Dockerfile", []byte("FROM scratch\nRUN ok\nCOPY --chmod=999 a /a\n"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := plan.New(df, plan.Options{BuildPlatform: amd64, TargetPlatform: amd64})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Convert(context.Background(), p, GraphOptions{Platform: amd64}, &fakeResolver{})
	var le *dockerfile.LocationError
	if !errors.As(err, &le) || le.File != "Dockerfile" || le.Line != 3 {
		t.Fatalf("error %v: want one at Dockerfile:3", err)
	}
}

func stageNames(g *Graph) []string {
	var out []string
	for _, s := range g.Stages {
		out = append(out, s.Stage.Name)
	}
	return out
}

func vertexNames(g *StageGraph) []string {
	var out []string
	for _, v := range g.Vertices {
		out = append(out, v.Name)
	}
	return out
}

func historyOf(v Vertex) string {
	switch {
	case v.Run != nil:
		return v.Run.History
	case v.Copy != nil:
		return v.Copy.History
	}
	return "WORKDIR " + v.Workdir
}

// A stage built FROM another starts with that stage's ARGs, as BuildKit's
// dispatchState.init: its words expand with them, its RUN sees them and
// names them in its history; redeclaring one keeps its place.
func TestGraphStageInheritsArgs(t *testing.T) {
	src := "FROM scratch AS base\nARG V=from-base\nARG W\nFROM base AS child\nWORKDIR /d-$V\nRUN echo\nARG V=again\nRUN echo\n"
	g := convertGraph(t, src, "child", &fakeResolver{})
	child := g.Stages[1]
	var got []string
	for _, v := range child.Vertices {
		switch {
		case v.Run != nil:
			got = append(got, v.Run.History)
		default:
			got = append(got, "WORKDIR "+v.Workdir)
		}
	}
	want := []string{"WORKDIR /d-from-base", "RUN |2 V=from-base W= /bin/sh -c echo # buildkit", "RUN |2 V=again W= /bin/sh -c echo # buildkit"}
	if !slices.Equal(got, want) {
		t.Errorf("child's ops:\n got %q\nwant %q", got, want)
	}
	if base := g.Stages[0].Args; len(base) != 2 || base[0].Value != "from-base" {
		t.Errorf("the base stage's ARGs changed by its child: %+v", base)
	}
}
