package integration

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-build/kiln/test/harness"
)

// bakeIn runs kiln bake on st with dir as the working directory, where
// bake looks for its files and resolves relative contexts.
func bakeIn(t *testing.T, st *harness.Store, dir string, env []string, args ...string) result {
	t.Helper()
	o := st.Opts()
	o.Env = append(o.Env, env...)
	cmd := harness.Command(t, o, append([]string{"bake", "--progress", "plain"}, args...)...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{Args: cmd.Args[1:], Stdout: stdout.String(), Stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.Code = exit.ExitCode()
	case err != nil:
		t.Fatalf("running kiln bake: %v", err)
	}
	return r
}

func mustBakeIn(t *testing.T, st *harness.Store, dir string, env []string, args ...string) result {
	t.Helper()
	r := bakeIn(t, st, dir, env, args...)
	if r.Code != 0 {
		t.Fatalf("kiln bake failed:\n%s", r)
	}
	return r
}

// fileOf reads path from the image name of st.
func fileOf(t *testing.T, st *harness.Store, name, path string) string {
	t.Helper()
	return readImageFile(t, exportImage(t, st, name).Rootfs(t), path)
}

// A compose file found by the default lookup: dockerfile_inline, args, and
// one service built on another's result (additional_contexts service:).
func TestBakeComposeServiceContext(t *testing.T) {
	t.Parallel()
	requireSuite(t)
	st := suiteStore(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"hello.txt": "hello",
		"compose.yaml": `services:
  web:
    image: example/web:1
    build:
      context: .
      dockerfile_inline: |
        FROM busybox:test
        ARG MSG
        COPY hello.txt /web/hello.txt
        RUN echo $${MSG} > /web/msg
      args:
        MSG: from-compose
  worker:
    image: example/worker:1
    build:
      context: .
      dockerfile_inline: |
        FROM base
        RUN cat /web/msg > /worker-saw
      additional_contexts:
        base: service:web
  db:
    image: postgres
`,
	})
	meta := filepath.Join(dir, "meta.json")
	r := mustBakeIn(t, st, dir, nil, "--metadata-file", meta)
	if got := fileOf(t, st, "example/worker:1", "/worker-saw"); got != "from-compose" {
		t.Errorf("worker read %q from web's result, want from-compose", got)
	}
	if got := fileOf(t, st, "example/web:1", "/web/hello.txt"); got != "hello" {
		t.Errorf("web's /web/hello.txt = %q", got)
	}
	if strings.Contains(r.Stderr, "[db") {
		t.Errorf("the db service (no build section) was built:\n%s", r.Stderr)
	}
	var m map[string]map[string]any
	data, err := os.ReadFile(meta)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	if len(m) != 2 || m["web"]["image.name"] != "example/web:1" || m["worker"]["containerimage.digest"] == nil {
		t.Errorf("metadata file = %s", data)
	}
}

// An HCL file named by BUILDX_BAKE_FILE: a matrix, a variable set by
// --var, dockerfile-inline, --set on one of the expanded targets, -j 1.
func TestBakeMatrixVarsAndSet(t *testing.T) {
	t.Parallel()
	requireSuite(t)
	st := suiteStore(t)
	dir := t.TempDir()
	defs := filepath.Join(t.TempDir(), "defs.hcl")
	writeFile(t, defs, `variable "GREETING" {
  default = "hi"
}
target "m" {
  name = "m-${v}"
  matrix = {
    v = ["a", "b"]
  }
  dockerfile-inline = "FROM busybox:test\nARG V\nRUN echo ${GREETING}-$V > /out\n"
  args = {
    V = v
  }
  tags = ["m:${v}"]
}
`, 0o644)
	mustBakeIn(t, st, dir, []string{"BUILDX_BAKE_FILE=" + defs}, "-j", "1", "--var", "GREETING=yo", "--set", "m-b.tags=m:bee", "m")
	if got := fileOf(t, st, "m:a", "/out"); got != "yo-a" {
		t.Errorf("m:a /out = %q, want yo-a", got)
	}
	if got := fileOf(t, st, "m:bee", "/out"); got != "yo-b" {
		t.Errorf("m:bee /out = %q, want yo-b", got)
	}
	if r := st.Run(t, "inspect", "m:b"); r.Code == 0 {
		t.Error("m:b was tagged although --set replaced m-b's tags")
	}
}

// A failing target is reported with its name and the Dockerfile line, and
// the bake fails.
func TestBakeFailingTarget(t *testing.T) {
	t.Parallel()
	requireSuite(t)
	st := suiteStore(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"Dockerfile.bad": "FROM busybox:test\nRUN echo boom && false\n",
		"docker-bake.hcl": `target "bad" {
  dockerfile = "Dockerfile.bad"
}
`,
	})
	r := bakeIn(t, st, dir, nil, "bad")
	if r.Code == 0 {
		t.Fatalf("bake of a failing RUN succeeded:\n%s", r)
	}
	for _, want := range []string{"target bad", "Dockerfile.bad:2", "boom"} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("error output lacks %q:\n%s", want, r.Stderr)
		}
	}
}

// --check lints each target instead of building it; writing an output
// outside the working directory needs --allow fs.write.
func TestBakeCheckAndWriteEntitlement(t *testing.T) {
	t.Parallel()
	requireSuite(t)
	st := suiteStore(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"Dockerfile": "FROM busybox:test as base\nRUN echo hi > /hi\n",
		"docker-bake.hcl": `target "app" {
  tags = ["checked:1"]
}
`,
	})
	r := bakeIn(t, st, dir, nil, "--check", "app")
	if !strings.Contains(r.Stdout+r.Stderr, "FromAsCasing") {
		t.Errorf("--check did not report FromAsCasing:\n%s", r)
	}
	if st.Run(t, "inspect", "checked:1").Code == 0 {
		t.Error("--check built the image")
	}

	out := filepath.Join(t.TempDir(), "rootfs")
	r = bakeIn(t, st, dir, nil, "--set", "app.output=type=local,dest="+out, "app")
	if r.Code == 0 || !strings.Contains(r.Stderr, "--allow=fs.write="+out) {
		t.Fatalf("an output outside the working directory without --allow was not refused:\n%s", r)
	}
	mustBakeIn(t, st, dir, nil, "--allow", "fs.write="+out, "--set", "app.output=type=local,dest="+out, "app")
	if got := readImageFile(t, out, "/hi"); got != "hi" {
		t.Errorf("local output /hi = %q", got)
	}
}

// --push pushes every target's tags.
func TestBakePush(t *testing.T) {
	t.Parallel()
	requireSuite(t)
	reg := harness.StartRegistry(t)
	st := suiteStore(t).WithConfig(reg.Config(t, false))
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"Dockerfile": "FROM busybox:test\nARG N\nRUN echo $N > /n\n",
		"docker-bake.hcl": `variable "REG" {}
target "one" {
  args = { N = "1" }
  tags = ["${REG}/bake/one:1"]
}
target "two" {
  args = { N = "2" }
  tags = ["${REG}/bake/two:1"]
}
group "default" {
  targets = ["one", "two"]
}
`,
	})
	mustBakeIn(t, st, dir, nil, "--push", "--var", "REG="+reg.Addr)
	for _, repo := range []string{"bake/one", "bake/two"} {
		found := false
		for _, req := range reg.Requests() {
			if strings.Contains(req, "PUT /v2/"+repo+"/manifests/1") {
				found = true
			}
		}
		if !found {
			t.Errorf("no manifest PUT for %s:1; requests:\n%s", repo, strings.Join(reg.Requests(), "\n"))
		}
	}
}
