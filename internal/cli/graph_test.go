package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const graphDockerfile = `FROM --platform=$BUILDPLATFORM golang:1.22 AS tools
RUN go install example.com/gen@latest

FROM alpine:3 AS base
RUN apk add ca-certificates

FROM base AS build
COPY --from=tools /go/bin/gen /usr/bin/gen
RUN --mount=from=busybox:1,target=/bb true

FROM scratch AS docs
COPY README /

FROM base AS production
COPY --from=build /app /app

FROM base AS debug
COPY --from=build /app /app
COPY --from=docs /README /
`

func runGraph(t *testing.T, args ...string) graphJSON {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(graphDockerfile), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runKiln(t, "", append([]string{"graph", "--format", "json"}, append(args, dir)...)...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var g graphJSON
	if err := json.Unmarshal([]byte(out), &g); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return g
}

func TestGraphJSON(t *testing.T) {
	g := runGraph(t, "--target", "production", "--platform", "linux/amd64,linux/arm64")
	if len(g.Targets) != 1 || g.Targets[0].Name != "production" || g.Targets[0].Stage != 4 ||
		!reflect.DeepEqual(g.Targets[0].Platforms, []string{"linux/amd64", "linux/arm64"}) {
		t.Fatalf("targets %+v", g.Targets)
	}
	if len(g.Stages) != 6 {
		t.Fatalf("want every stage, got %d", len(g.Stages))
	}
	tools, base, build, docs, prod, debug := g.Stages[0], g.Stages[1], g.Stages[2], g.Stages[3], g.Stages[4], g.Stages[5]
	// The $BUILDPLATFORM stage is built once, for this machine.
	if !reflect.DeepEqual(tools.Platforms, []string{g.BuildPlatform}) || tools.From != "golang:1.22" || tools.Depth != 0 {
		t.Errorf("tools: %+v", tools)
	}
	both := []string{"linux/amd64", "linux/arm64"}
	if !reflect.DeepEqual(base.Platforms, both) || base.Line != 4 || len(base.Deps) != 0 {
		t.Errorf("base: %+v", base)
	}
	if !reflect.DeepEqual(build.Deps, []int{1, 0}) || build.FromStage == nil || *build.FromStage != 1 || build.From != "base" ||
		!reflect.DeepEqual(build.Images, []string{"busybox:1"}) || build.Depth != 1 {
		t.Errorf("build: %+v", build)
	}
	if !docs.Pruned || len(docs.Platforms) != 0 || docs.From != "scratch" || !debug.Pruned {
		t.Errorf("docs and debug are not needed by production: %+v %+v", docs, debug)
	}
	if prod.Pruned || !reflect.DeepEqual(prod.Deps, []int{1, 2}) || prod.Depth != 2 {
		t.Errorf("production: %+v", prod)
	}
}

// Several targets merge their graphs: a stage is pruned only when no
// target needs it.
func TestGraphJSONTargets(t *testing.T) {
	g := runGraph(t, "--target", "production", "--target", "debug")
	if len(g.Targets) != 2 || g.Targets[1].Name != "debug" || !reflect.DeepEqual(g.Targets[1].Platforms, []string{g.BuildPlatform}) {
		t.Fatalf("targets %+v", g.Targets)
	}
	for _, s := range g.Stages {
		if s.Pruned {
			t.Errorf("stage %s pruned, but debug needs every stage", s.Name)
		}
	}
	// The default target is the last stage.
	if g := runGraph(t); g.Targets[0].Name != "debug" {
		t.Errorf("default target %+v", g.Targets)
	}
}

func TestGraphFlagsErrors(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(graphDockerfile), 0o644)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"graph", "--target", "production", "--target", "debug", dir}, "need --format json"},
		{[]string{"graph", "--format", "json", "--platform", "linux/notanarch/x/y", dir}, "invalid --platform"},
		{[]string{"graph", "--format", "json", "--target", "nope", dir}, `target stage "nope" could not be found`},
		{[]string{"graph", "--format", "yaml", dir}, "unknown --format"},
	} {
		out, err := runKiln(t, "", c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v (%s), want %q", c.args, err, out, c.want)
		}
	}
}
