package hostile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-build/kiln/test/harness"
)

// TestDockerfileSymlinkToHost: a Dockerfile (or .dockerignore) that links
// to a host file is refused before anything of it is read, in every
// command that reads a Dockerfile; a link that stays next to it works.
func TestDockerfileSymlinkToHost(t *testing.T) {
	t.Parallel()
	s := harness.NewStore(t)
	s.Env = []string{"CI_SECRET_TOKEN=" + canary}
	for _, target := range []string{"/proc/self/environ", "/dev/zero"} {
		for _, link := range []string{"Dockerfile", ".dockerignore"} {
			ctx := t.TempDir()
			harness.WriteFile(t, filepath.Join(ctx, "Dockerfile"), "FROM scratch\n", 0o644)
			os.Remove(filepath.Join(ctx, link))
			if err := os.Symlink(target, filepath.Join(ctx, link)); err != nil {
				t.Fatal(err)
			}
			for _, args := range [][]string{
				{"build", "--progress", "plain", ctx},
				{"build", "--progress", "rawjson", ctx},
				{"check", ctx},
				{"graph", ctx},
			} {
				if link == ".dockerignore" && args[0] == "graph" {
					continue // graph reads no ignore file
				}
				r := s.Run(t, args...)
				if r.Code == 0 || !strings.Contains(r.Stderr, "refused") {
					t.Errorf("%s -> %s: want a refusal:\n%s", link, target, r)
				}
				if strings.Contains(r.Stdout+r.Stderr, canary) {
					t.Errorf("%s -> %s: the environment leaked:\n%s", link, target, r)
				}
			}
		}
	}
	ctx := t.TempDir()
	harness.WriteFiles(t, ctx, map[string]string{"docker/Dockerfile.prod": "FROM scratch\nCOPY a /a\n", "a": "a"})
	if err := os.Symlink("docker/Dockerfile.prod", filepath.Join(ctx, "Dockerfile")); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out")
	s.MustRun(t, "build", "--progress", "plain", "-o", "type=local,dest="+out, ctx)
	if b, err := os.ReadFile(filepath.Join(out, "a")); err != nil || string(b) != "a" {
		t.Fatalf("a Dockerfile symlink inside the context: /a = %q, %v", b, err)
	}
}
