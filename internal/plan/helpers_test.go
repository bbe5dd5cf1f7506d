package plan

import (
	"strings"
	"testing"

	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-build/kiln/internal/dockerfile"
)

var (
	amd64 = ocispecs.Platform{OS: "linux", Architecture: "amd64"}
	arm64 = ocispecs.Platform{OS: "linux", Architecture: "arm64"}
)

// opts are Options for a linux/arm64 build on a linux/amd64 host.
func opts(target string, buildArgs map[string]string) Options {
	return Options{Target: target, BuildArgs: buildArgs, BuildPlatform: amd64, TargetPlatform: arm64}
}

func parse(t *testing.T, src string) *dockerfile.Dockerfile {
	t.Helper()
	df, err := dockerfile.Parse("Dockerfile", []byte(src))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return df
}

func mustPlan(t *testing.T, src string, o Options) *Plan {
	t.Helper()
	p, err := New(parse(t, src), o)
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	return p
}

func planErr(t *testing.T, src string, o Options) error {
	t.Helper()
	_, err := New(parse(t, src), o)
	if err == nil {
		t.Fatal("plan: no error")
	}
	return err
}

// names lists stages by DisplayName, comma-separated.
func names(stages []*Stage) string {
	var out []string
	for _, s := range stages {
		out = append(out, s.DisplayName())
	}
	return strings.Join(out, ",")
}

func stage(t *testing.T, p *Plan, name string) *Stage {
	t.Helper()
	for _, s := range p.Stages {
		if s.DisplayName() == name {
			return s
		}
	}
	t.Fatalf("no stage %q", name)
	return nil
}
