package session

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-build/kiln/internal/buildctx"
	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/progress"
	"github.com/kiln-build/kiln/internal/store"
)

// The warnings printed before pulling know the env of a base image already
// in the store.
func TestWarnKnowsStoredBaseEnv(t *testing.T) {
	root := t.TempDir()
	s, err := store.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	targets, err := targetPlatforms([]string{"linux/arm64"})
	if err != nil {
		t.Fatal(err)
	}
	img := image.New(targets[0])
	img.SetEnv("FOO", "1")
	desc, err := image.Commit(s, img)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Tag("example.com/base:1", desc); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		base string
		want bool
	}{{"example.com/base:1", true}, {"example.com/other", false}} {
		dir := t.TempDir()
		src := "FROM " + c.base + "\nWORKDIR /$FOO/$BAR\n"
		if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		o := Options{ContextDir: dir, Dockerfile: filepath.Join(dir, "Dockerfile"), StoreRoot: root, Platforms: []string{"linux/arm64"}}
		bctx, err := buildctx.Load(o.ContextDir, o.Dockerfile)
		if err != nil {
			t.Fatal(err)
		}
		df, _, err := parseDockerfile(bctx)
		if err != nil {
			t.Fatal(err)
		}
		targets, _ := targetPlatforms(o.Platforms)
		plans, err := makePlans(df, o, targets)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		rep, err := progress.New(&out, "plain")
		if err != nil {
			t.Fatal(err)
		}
		warn(rep, df, bctx, plans[0], o, targets[0])
		rep.Close()
		if got := strings.Contains(out.String(), "'$BAR'"); got != c.want || strings.Contains(out.String(), "'$FOO'") {
			t.Errorf("%s: warnings:\n%s", c.base, out.String())
		}
	}
}
