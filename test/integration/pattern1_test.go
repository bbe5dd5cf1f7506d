package integration

import (
	"encoding/json"
	"os/exec"
	"reflect"
	"testing"

	"github.com/kiln-build/kiln/test/harness"
)

// pattern1Go is the seed's Pattern 1 Go example, verbatim.
const pattern1Go = `# Stage 1: Build
FROM golang:1.22-alpine AS builder
WORKDIR /app

# Download dependencies (cached layer)
COPY go.mod go.sum ./
RUN go mod download

# Build static binary
COPY . .
RUN CGO_ENABLED=0 GOOS=linux go build -ldflags="-w -s" -o /server

# Stage 2: Production (scratch = empty image)
FROM scratch
COPY --from=builder /server /server
EXPOSE 8080
ENTRYPOINT ["/server"]
`

func TestPattern1GoBuilder(t *testing.T) {
	t.Parallel()
	requireSuite(t, harness.GolangWarm)
	_, img := mustBuild(t, buildSpec{Context: goAppContext(t, false), Dockerfile: pattern1Go, Tag: "app:prod"})

	out, err := exec.Command("skopeo", "inspect", "--config", "oci-archive:"+img.Tar).CombinedOutput()
	if err != nil {
		t.Fatalf("skopeo inspect: %v\n%s", err, out)
	}
	var cfg struct {
		Config struct{ Entrypoint []string }
	}
	if err := json.Unmarshal(out, &cfg); err != nil || !reflect.DeepEqual(cfg.Config.Entrypoint, []string{"/server"}) {
		t.Errorf("skopeo inspect --config: Entrypoint %v (err %v), want [/server]:\n%s", cfg.Config.Entrypoint, err, out)
	}
	if img.Ref != "prod" {
		t.Errorf("index.json ref.name = %q, want %q", img.Ref, "prod")
	}
	assertPattern1Config(t, img)

	bundle := img.Unpack(t)
	rootfs := bundle + "/rootfs"
	if got := listTree(t, rootfs, "/"); !reflect.DeepEqual(got, []string{"/server"}) {
		t.Errorf("scratch image files = %v, want exactly [/server]", got)
	}
	if o := statPath(t, rootfs, "/server"); !o.mode.IsRegular() || o.mode.Perm()&0o111 == 0 || o.uid != 0 || o.gid != 0 {
		t.Errorf("/server: mode %v owner %d:%d, want an executable regular file owned 0:0", o.mode, o.uid, o.gid)
	}
	if got := harness.RunBundle(t, bundle); got != greeting+"\n" {
		t.Errorf("running the image printed %q, want %q", got, greeting+"\n")
	}
}

func assertPattern1Config(t *testing.T, img *ociImage) {
	t.Helper()
	c := img.Config.Config
	if !reflect.DeepEqual(c.Entrypoint, []string{"/server"}) {
		t.Errorf("Entrypoint = %q, want [/server]", c.Entrypoint)
	}
	if !hasPorts(c.ExposedPorts, "8080/tcp") {
		t.Errorf("ExposedPorts = %v, want only 8080/tcp", c.ExposedPorts)
	}
	if len(c.Cmd) != 0 {
		t.Errorf("Cmd = %q, want none", c.Cmd)
	}
	// The scratch stage's instructions after FROM: COPY makes a layer,
	// EXPOSE and ENTRYPOINT only change the config.
	assertHistory(t, img, []historyWant{{"COPY", false}, {"EXPOSE", true}, {"ENTRYPOINT", true}})
}
