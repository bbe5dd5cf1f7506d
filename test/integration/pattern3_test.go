package integration

import (
	"fmt"
	"strings"
	"testing"

	"github.com/kiln-build/kiln/test/harness"
)

// pattern3 is the seed's Pattern 3 (test stage inclusion) with node swapped
// for the Go and busybox images.
const pattern3 = `FROM golang:1.22-alpine AS base
WORKDIR /app
COPY go.mod go.sum ./

FROM base AS dependencies
RUN go mod download

FROM dependencies AS development
COPY . .
CMD ["go", "run", "."]

# Test stage - run during CI
FROM dependencies AS test
COPY . .
RUN go vet ./...
RUN go test ./...

# Build stage - only runs if tests pass
FROM dependencies AS builder
COPY . .
RUN CGO_ENABLED=0 GOOS=linux go build -ldflags="-w -s" -o /server

FROM busybox:test AS production
WORKDIR /app
RUN addgroup -g 1001 -S nodejs && \
    adduser -S nextjs -u 1001 -G nodejs

COPY --from=builder --chown=nextjs:nodejs /server ./dist/server

USER 1001
CMD ["/app/dist/server"]
`

func TestPattern3TestStagePasses(t *testing.T) {
	t.Parallel()
	requireSuite(t, harness.GolangWarm)
	r, _ := mustBuild(t, buildSpec{Context: goAppContext(t, false), Dockerfile: pattern3, Tag: "app3:test", Target: "test"})
	for _, want := range []string{"RUN go vet ./...", "RUN go test ./...", "ok  \texample.com/app"} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("output lacks %q:\n%s", want, r)
		}
	}
	for _, s := range []string{"[development", "[builder", "[production"} {
		if strings.Contains(r.Stderr, s) {
			t.Errorf("--target test ran a pruned stage (%q):\n%s", s, r)
		}
	}
	assertTagged(t, "app3:test", true)
}

func TestPattern3TestStageFails(t *testing.T) {
	t.Parallel()
	requireSuite(t, harness.GolangWarm)
	r, _ := build(t, buildSpec{Context: goAppContext(t, true), Dockerfile: pattern3, Tag: "app3:failed", Target: "test"})
	if r.Code == 0 {
		t.Fatalf("a failing go test did not fail the build:\n%s", r)
	}
	line := dockerfileLine(t, pattern3, "RUN go test ./...")
	for _, want := range []string{
		fmt.Sprintf("Dockerfile:%d", line), "go test ./...", "exit code: 1",
		goTestFailMarker, "--- FAIL: TestGreeting",
	} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("error output lacks %q:\n%s", want, r)
		}
	}
	assertTagged(t, "app3:failed", false)
	assertNoLeaks(t)
}

// A failing test stage does not stop production: the target does not need it.
func TestPattern3ProductionPrunesTestStage(t *testing.T) {
	t.Parallel()
	requireSuite(t, harness.GolangWarm)
	r, img := mustBuild(t, buildSpec{Context: goAppContext(t, true), Dockerfile: pattern3, Tag: "app3:prod", Target: "production"})
	for _, s := range []string{"[test", "go test", "go vet", "[development"} {
		if strings.Contains(r.Stderr, s) {
			t.Errorf("--target production ran a pruned stage (%q):\n%s", s, r)
		}
	}
	bundle := img.Unpack(t)
	if o := statPath(t, bundle+"/rootfs", "/app/dist/server"); o.uid != 1001 || o.gid != 1001 {
		t.Errorf("/app/dist/server owned %d:%d, want 1001:1001", o.uid, o.gid)
	}
	if got := harness.RunBundle(t, bundle); got != greeting+"\n" {
		t.Errorf("running production printed %q, want %q", got, greeting+"\n")
	}
	assertTagged(t, "app3:prod", true)
}
