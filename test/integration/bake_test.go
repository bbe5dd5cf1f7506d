package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kiln-build/kiln/test/harness"
)

// bakePattern3 bakes the seed's Pattern 3 as buildx users write it: a
// dev/test/prod group whose targets share the base and dependencies stages.
const bakePattern3 = `variable "CTX" {}
variable "DOCKERFILE" {}

group "default" {
  targets = ["dev", "test", "prod"]
}

target "_common" {
  context    = CTX
  dockerfile = DOCKERFILE
}

target "dev" {
  inherits = ["_common"]
  target   = "development"
  tags     = ["app3:dev"]
}

target "test" {
  inherits = ["_common"]
  target   = "test"
  tags     = ["app3:test"]
}

target "prod" {
  inherits = ["_common"]
  target   = "production"
  tags     = ["app3:prod"]
}
`

// bakeVertexLine is a plain progress line: "#N rest".
var bakeVertexLine = regexp.MustCompile(`^#(\d+) (.*)$`)

// stepRuns counts, per step name without its target ("[dependencies 1/1]
// RUN go mod download"), the vertices that executed it: finished, not
// answered from the cache, not waiting for another target's identical step.
func stepRuns(stderr string) map[string]int {
	names := map[string]string{}
	skip := map[string]bool{}
	done := map[string]bool{}
	for _, l := range strings.Split(stderr, "\n") {
		m := bakeVertexLine.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		id, rest := m[1], m[2]
		switch {
		case names[id] == "":
			names[id] = rest
		case rest == "CACHED" || strings.HasSuffix(rest, "done once by another target's identical step"):
			skip[id] = true
		case strings.HasPrefix(rest, "DONE"):
			done[id] = true
		}
	}
	runs := map[string]int{}
	for id, name := range names {
		// "[dev dependencies 2/2] RUN …" → "[dependencies 2/2] RUN …"
		if i := strings.Index(name, " "); strings.HasPrefix(name, "[") && i > 0 {
			name = "[" + name[i+1:]
		}
		if done[id] && !skip[id] {
			runs[name]++
		}
	}
	return runs
}

func TestBakePattern3SharedStagesRunOnce(t *testing.T) {
	t.Parallel()
	requireSuite(t, harness.GolangWarm)
	ctx := goAppContext(t, false)
	defs := t.TempDir()
	writeFiles(t, defs, map[string]string{"Dockerfile": pattern3, "docker-bake.hcl": bakePattern3})
	bakeFile, df := filepath.Join(defs, "docker-bake.hcl"), filepath.Join(defs, "Dockerfile")
	st := suiteStore(t)
	vars := []string{"--var", "CTX=" + ctx, "--var", "DOCKERFILE=" + df}

	// The context and Dockerfile are outside the working directory: bake asks first.
	r := st.Run(t, append([]string{"bake", "-f", bakeFile, "--progress", "plain"}, vars...)...)
	if r.Code == 0 || !strings.Contains(r.Stderr, "--allow=fs.read="+ctx) || !strings.Contains(r.Stderr, "--allow=fs.read="+df) {
		t.Fatalf("bake of a context outside the working directory without --allow did not ask for fs.read:\n%s", r)
	}

	meta := filepath.Join(t.TempDir(), "meta.json")
	r = st.MustRun(t, append([]string{"bake", "-f", bakeFile, "--allow", "fs.read=" + ctx, "--allow", "fs.read=" + defs,
		"--progress", "plain", "--metadata-file", meta}, vars...)...)
	runs := stepRuns(r.Stderr)
	for _, step := range []string{
		"[base 3/3] COPY go.mod go.sum ./",
		"[dependencies 1/1] RUN go mod download",
	} {
		if runs[step] != 1 {
			t.Errorf("shared step %q ran %d times, want once:\n%s", step, runs[step], r.Stderr)
		}
	}
	if runs["[test 3/3] RUN go test ./..."] != 1 {
		t.Errorf("the test target's go test ran %d times, want once:\n%s", runs["[test 3/3] RUN go test ./..."], r.Stderr)
	}
	if !strings.Contains(r.Stderr, "ok  \texample.com/app") {
		t.Errorf("the test target's go test output is missing:\n%s", r.Stderr)
	}

	var got map[string]struct {
		Digest string `json:"containerimage.digest"`
		Name   string `json:"image.name"`
	}
	data, err := os.ReadFile(meta)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatalf("metadata file: %v\n%s", err, data)
	}
	// kiln build --target on the same store makes the same images (bake's
	// steps are build's steps), and prod, whose steps are reproducible,
	// comes out the same from a fresh store too. go vet and go test write
	// Go's build cache, whose bytes differ run to run (in BuildKit too).
	sep := harness.NewStore(t, harness.Busybox, harness.Golang)
	for target, stage := range map[string]string{"dev": "development", "test": "test", "prod": "production"} {
		stores := []*harness.Store{st}
		if target == "prod" {
			stores = append(stores, sep)
		}
		for _, s := range stores {
			want := strings.TrimSpace(s.MustRun(t, "build", "-q", "-f", df, "--target", stage, ctx).Stdout)
			if got[target].Digest != want {
				t.Errorf("bake target %s made %s, kiln build --target %s (store %s) made %s", target, got[target].Digest, stage, s.Root, want)
			}
		}
		if got[target].Name != "app3:"+target {
			t.Errorf("metadata of %s names %q, want app3:%s", target, got[target].Name, target)
		}
	}
	// The tags point at the images, and they hold their stage's files.
	prod := exportImage(t, st, "app3:prod")
	if !exists(t, prod.Rootfs(t), "/app/dist/server") {
		t.Error("prod image lacks /app/dist/server")
	}
	dev := exportImage(t, st, "app3:dev")
	if !exists(t, dev.Rootfs(t), "/app/main.go") {
		t.Error("dev image lacks /app/main.go")
	}
}

// exportImage saves a tagged image of st as an OCI tar and reads it.
func exportImage(t *testing.T, st *harness.Store, name string) *ociImage {
	t.Helper()
	tar := filepath.Join(t.TempDir(), "image.tar")
	st.MustRun(t, "save", "-o", tar, name)
	return harness.ReadImage(t, tar)
}
