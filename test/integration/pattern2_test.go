package integration

import (
	"reflect"
	"strings"
	"testing"

	"github.com/kiln-build/kiln/test/harness"
)

// devMarker is written only by the development stage's RUN.
const devMarker = "kiln-it-development-stage-ran"

// pattern2 is the seed's Pattern 2 (development vs production targets)
// with node swapped for the Go and busybox images. The builder chain is
// Pattern 1's.
const pattern2 = `# Base stage with common setup
FROM golang:1.22-alpine AS base
WORKDIR /app
COPY go.mod go.sum ./

# Development target
FROM base AS development
RUN go mod download
COPY . .
RUN echo ` + devMarker + ` > /dev-marker
EXPOSE 8080 2345
CMD ["go", "run", "."]

# Builder stage (for production)
FROM base AS builder
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 GOOS=linux go build -ldflags="-w -s" -o /server

# Production target
FROM busybox:test AS production
WORKDIR /app
RUN addgroup -g 1001 -S nodejs && \
    adduser -S nextjs -u 1001 -G nodejs

COPY --from=builder --chown=nextjs:nodejs /server ./dist/server
COPY --from=builder --chown=nextjs:nodejs /app/go.mod ./

USER 1001
EXPOSE 8080
CMD ["/app/dist/server"]
`

func TestPattern2Development(t *testing.T) {
	t.Parallel()
	requireSuite(t, harness.GolangWarm)
	r, img := mustBuild(t, buildSpec{Context: goAppContext(t, false), Dockerfile: pattern2, Tag: "app:dev", Target: "development"})
	for _, s := range []string{"[builder", "[production", "go build"} {
		if strings.Contains(r.Stderr, s) {
			t.Errorf("--target development ran a step of another stage (%q):\n%s", s, r)
		}
	}
	c := img.Config.Config
	if !reflect.DeepEqual(c.Cmd, []string{"go", "run", "."}) {
		t.Errorf("Cmd = %q, want [go run .]", c.Cmd)
	}
	if c.WorkingDir != "/app" {
		t.Errorf("WorkingDir = %q, want /app", c.WorkingDir)
	}
	if !hasPorts(c.ExposedPorts, "8080/tcp", "2345/tcp") {
		t.Errorf("ExposedPorts = %v, want 8080/tcp and 2345/tcp", c.ExposedPorts)
	}
	rootfs := img.Rootfs(t)
	if got := readImageFile(t, rootfs, "/dev-marker"); got != devMarker {
		t.Errorf("/dev-marker = %q, want %q", got, devMarker)
	}
	for _, f := range []string{"/app/go.mod", "/app/go.sum", "/app/main.go", "/usr/local/go/bin/go"} {
		if !exists(t, rootfs, f) {
			t.Errorf("development image lacks %s", f)
		}
	}
}

func TestPattern2Production(t *testing.T) {
	t.Parallel()
	requireSuite(t, harness.GolangWarm)
	r, img := mustBuild(t, buildSpec{Context: goAppContext(t, false), Dockerfile: pattern2, Tag: "app:prod2", Target: "production"})
	for _, s := range []string{"[development", devMarker, "go run"} {
		if strings.Contains(r.Stderr, s) {
			t.Errorf("--target production ran the development stage (%q in the output):\n%s", s, r)
		}
	}
	c := img.Config.Config
	if c.User != "1001" || c.WorkingDir != "/app" || !reflect.DeepEqual(c.Cmd, []string{"/app/dist/server"}) {
		t.Errorf("config User %q WorkingDir %q Cmd %q, want 1001, /app, [/app/dist/server]", c.User, c.WorkingDir, c.Cmd)
	}
	if !hasPorts(c.ExposedPorts, "8080/tcp") {
		t.Errorf("ExposedPorts = %v, want only 8080/tcp", c.ExposedPorts)
	}
	bundle := img.Unpack(t)
	rootfs := bundle + "/rootfs"
	if exists(t, rootfs, "/dev-marker") || exists(t, rootfs, "/usr/local/go") {
		t.Errorf("production image holds files of the development or builder stage")
	}
	for _, p := range []string{"/app/dist/server", "/app/dist", "/app/go.mod"} {
		if o := statPath(t, rootfs, p); o.uid != 1001 || o.gid != 1001 {
			t.Errorf("%s owned %d:%d, want 1001:1001 (COPY --chown=nextjs:nodejs)", p, o.uid, o.gid)
		}
	}
	if o := statPath(t, rootfs, "/app/dist/server"); o.mode.Perm()&0o111 == 0 {
		t.Errorf("/app/dist/server mode %v, want executable", o.mode)
	}
	if passwd := readImageFile(t, rootfs, "/etc/passwd"); !strings.Contains(passwd, "nextjs:x:1001:1001:") {
		t.Errorf("/etc/passwd lacks nextjs with uid/gid 1001:\n%s", passwd)
	}
	if got := harness.RunBundle(t, bundle); got != greeting+"\n" {
		t.Errorf("running production printed %q, want %q", got, greeting+"\n")
	}
}
