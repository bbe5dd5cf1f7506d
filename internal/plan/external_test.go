// The tests of package plan_test use convert, which imports plan.
package plan_test

import (
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-build/kiln/internal/dockerfile"
	"github.com/kiln-build/kiln/internal/plan"
)

var (
	amd64 = ocispec.Platform{OS: "linux", Architecture: "amd64"}
	arm64 = ocispec.Platform{OS: "linux", Architecture: "arm64"}
)

func opts(target string, buildArgs map[string]string) plan.Options {
	return plan.Options{Target: target, BuildArgs: buildArgs, BuildPlatform: amd64, TargetPlatform: arm64}
}

func parse(t *testing.T, src string) *dockerfile.Dockerfile {
	t.Helper()
	df, err := dockerfile.Parse("Dockerfile", []byte(src))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return df
}

func mustPlan(t *testing.T, src string, o plan.Options) *plan.Plan {
	t.Helper()
	p, err := plan.New(parse(t, src), o)
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	return p
}
