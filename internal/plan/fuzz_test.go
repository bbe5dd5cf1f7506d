package plan

import (
	"strings"
	"testing"

	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-build/kiln/internal/dockerfile"
)

// FuzzPlan feeds arbitrary Dockerfiles through parsing and planning: they
// may be rejected, but must never panic or hang.
func FuzzPlan(f *testing.F) {
	for _, seed := range []string{
		"FROM scratch\nCOPY a /\n",
		"ARG B=busybox\nFROM $B AS base\nRUN echo\nFROM base\nCOPY --from=base / /\n",
		"FROM --platform=$BUILDPLATFORM golang AS b\nARG TARGETARCH\nFROM scratch\nCOPY --from=b /x /x\n",
		"# syntax=docker/dockerfile:1\n# escape=`\nFROM a\nRUN echo `\n  b\n",
		"FROM a\nRUN <<EOF\necho hi\nEOF\n",
	} {
		f.Add(seed, "")
	}
	p := ocispecs.Platform{OS: "linux", Architecture: "amd64"}
	f.Fuzz(func(t *testing.T, src, target string) {
		df, err := dockerfile.Parse("Dockerfile", []byte(src))
		if err != nil {
			return
		}
		_, _ = New(df, Options{Target: target, BuildPlatform: p, TargetPlatform: p})
	})
}

// Huge inputs are handled (or refused) without blowing up.
func TestHugeDockerfile(t *testing.T) {
	var b strings.Builder
	b.WriteString("FROM scratch\n")
	for i := 0; i < 10000; i++ {
		b.WriteString("ENV A=b\n")
	}
	long := b.String() + "LABEL x=" + strings.Repeat("y", 100000) + "\n"
	if _, err := dockerfile.Parse("Dockerfile", []byte(long)); err == nil || !strings.Contains(err.Error(), "max allowed size") {
		t.Fatalf("a 100,000-character line: got %v, want a clear error", err)
	}
	df, err := dockerfile.Parse("Dockerfile", []byte(b.String()))
	if err != nil {
		t.Fatalf("parsing: %v", err)
	}
	p := ocispecs.Platform{OS: "linux", Architecture: "amd64"}
	pl, err := New(df, Options{BuildPlatform: p, TargetPlatform: p})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(pl.Target.Commands); n != 10000 {
		t.Fatalf("%d commands", n)
	}
}
