package integration

import (
	"strings"
	"testing"
	"time"
)

// TestBuildErrors checks that each failing build exits non-zero with a
// message naming the problem, tags nothing, and leaves no mount, container
// or bundle behind.
func TestBuildErrors(t *testing.T) {
	t.Parallel()
	requireSuite(t)
	tests := []struct {
		name       string
		dockerfile string
		target     string
		want       []string // substrings of stderr
	}{
		{
			name:       "unknown target",
			dockerfile: "FROM busybox:test AS a\nRUN true\n",
			target:     "nope",
			want:       []string{`"nope"`, "stage"},
		},
		{
			name:       "copy missing file",
			dockerfile: "FROM busybox:test\nCOPY missing.txt /\n",
			want:       []string{"missing.txt", "Dockerfile:2"},
		},
		{
			name:       "run exits 3",
			dockerfile: "FROM busybox:test\nRUN echo kiln-it-line-one; echo kiln-it-line-two; exit 3\n",
			want:       []string{"exit code: 3", "Dockerfile:2", "kiln-it-line-one", "kiln-it-line-two"},
		},
		{
			name:       "unknown instruction",
			dockerfile: "FROM busybox:test\nFOO bar\n",
			want:       []string{"Dockerfile:2", "FOO"},
		},
		{
			name:       "unknown base image",
			dockerfile: "FROM kiln-it-no-such-image:1\nRUN true\n",
			want:       []string{"kiln-it-no-such-image"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tag := "kiln-it-error:" + strings.ReplaceAll(tt.name, " ", "-")
			r, _ := build(t, buildSpec{Context: t.TempDir(), Dockerfile: tt.dockerfile, Tag: tag, Target: tt.target})
			if r.Code == 0 {
				t.Fatalf("build succeeded, want a failure:\n%s", r)
			}
			if r.Code != 1 {
				t.Errorf("exit code %d, want 1 (a build error, not a usage error)", r.Code)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.Stderr, w) {
					t.Errorf("error output lacks %q:\n%s", w, r)
				}
			}
			assertTagged(t, tag, false)
			assertNoLeaks(t)
		})
	}
}

func TestUsageErrorExitCode(t *testing.T) {
	t.Parallel()
	requireSuite(t)
	r := runKiln(t, nil, "build", "--network", "bogus", t.TempDir())
	if r.Code != 2 || !strings.Contains(r.Stderr, "bogus") {
		t.Errorf("bad --network: want exit code 2 and a message naming the value:\n%s", r)
	}
}

// A failing stage cancels a parallel stage still running: the build fails
// fast and the cancelled container is gone.
func TestFailureCancelsParallelStage(t *testing.T) {
	t.Parallel()
	requireSuite(t)
	const df = `FROM busybox:test AS slow
RUN sleep 60
FROM busybox:test AS bad
RUN sleep 1; exit 3
FROM busybox:test
COPY --from=slow /etc/passwd /a
COPY --from=bad /etc/passwd /b
`
	start := time.Now()
	r, _ := build(t, buildSpec{Context: t.TempDir(), Dockerfile: df, Tag: "kiln-it-error:cancel"})
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("build took %v: the failure did not cancel the sleeping stage", took)
	}
	if r.Code != 1 || !strings.Contains(r.Stderr, "exit code: 3") || !strings.Contains(r.Stderr, "Dockerfile:4") {
		t.Errorf("want exit code 1 naming Dockerfile:4 and exit code: 3:\n%s", r)
	}
	assertTagged(t, "kiln-it-error:cancel", false)
	assertNoLeaks(t)
}
