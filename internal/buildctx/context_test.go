package buildctx

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writeFiles creates files under root; names ending in "/" are directories,
// contents starting with "-> " are symlink targets.
func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, v := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		switch {
		case strings.HasSuffix(name, "/"):
			err = os.MkdirAll(p, 0o755)
		case strings.HasPrefix(v, "-> "):
			err = os.Symlink(v[3:], p)
		default:
			err = os.WriteFile(p, []byte(v), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestLoadDefaults(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"Dockerfile": "FROM scratch", ".dockerignore": "# comment\n/node_modules\n*.log\n"})
	c, err := Load(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	real, _ := filepath.EvalSymlinks(dir)
	if c.Root != real || c.Dockerfile != filepath.Join(real, "Dockerfile") || c.DockerfileName != "Dockerfile" {
		t.Errorf("got %+v", c)
	}
	if c.IgnoreFile != filepath.Join(real, ".dockerignore") || !slices.Equal(c.Ignore, []string{"node_modules", "*.log"}) {
		t.Errorf("ignore = %q from %q", c.Ignore, c.IgnoreFile)
	}
}

func TestLoadDockerfileIgnorePrecedence(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"build/app.Dockerfile":              "FROM scratch",
		"build/app.Dockerfile.dockerignore": "secret\n",
		".dockerignore":                     "other\n",
		"plain.Dockerfile":                  "FROM scratch",
	})
	c, err := Load(dir, filepath.Join(dir, "build/app.Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Ignore, []string{"secret"}) || !c.Excluded("secret", false) || c.Excluded("other", false) {
		t.Errorf("<Dockerfile>.dockerignore must replace .dockerignore; got %q", c.Ignore)
	}
	c, err = Load(dir, filepath.Join(dir, "plain.Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Ignore, []string{"other"}) {
		t.Errorf("fallback to .dockerignore; got %q", c.Ignore)
	}
}

func TestLoadRelativeDockerfileIsCwdRelative(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"ctx/": "", "df/Dockerfile": "FROM scratch"})
	t.Chdir(dir)
	c, err := Load("ctx", "df/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	if c.Dockerfile != filepath.Join(dir, "df/Dockerfile") || c.DockerfileName != "df/Dockerfile" {
		t.Errorf("got %q (%q)", c.Dockerfile, c.DockerfileName)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"file": "x", "sub/": "", "bad/Dockerfile": "", "bad/.dockerignore": "!\n"})
	tests := []struct {
		dir, dockerfile, want string
	}{
		{filepath.Join(dir, "missing"), "", "resolving build context"},
		{filepath.Join(dir, "file"), "", "not a directory"},
		{dir, "", "open Dockerfile: no such file or directory"},
		{dir, filepath.Join(dir, "sub"), "sub is a directory"},
		{filepath.Join(dir, "bad"), "", "illegal exclusion pattern"},
	}
	for _, tc := range tests {
		_, err := Load(tc.dir, tc.dockerfile)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Load(%q, %q) = %v, want %q", tc.dir, tc.dockerfile, err, tc.want)
		}
	}
	_, err := Load(dir, "")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing Dockerfile error %v does not wrap fs.ErrNotExist", err)
	}
}

func TestExcluded(t *testing.T) {
	c := &Context{Ignore: []string{
		"node_modules", "*.log", "!keep.log", "**/*.tmp", "docs/**", "!docs/README.md", "build/*/out", "Dockerfile",
	}}
	tests := []struct {
		rel   string
		isDir bool
		want  bool
	}{
		{".", true, false},
		{"", true, false},
		{"node_modules", true, true},
		{"node_modules/x/index.js", false, true},
		{"src/node_modules", true, false},
		{"a.log", false, true},
		{"keep.log", false, false},
		{"sub/a.log", false, false}, // "*" does not cross "/"
		{"x.tmp", false, true},
		{"a/b/c/x.tmp", false, true},
		{"docs/guide/a.md", false, true},
		{"docs/README.md", false, false},
		{"build/linux/out", true, true},
		{"build/linux/out/bin", false, true},
		{"build/out", true, false},
		{"Dockerfile", false, true},
		{"main.go", false, false},
		{"./a.log", false, true},
	}
	for _, tc := range tests {
		if got := c.Excluded(tc.rel, tc.isDir); got != tc.want {
			t.Errorf("Excluded(%q) = %v, want %v", tc.rel, got, tc.want)
		}
	}
}

func TestDockerfileNotSpecial(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"Dockerfile": "FROM scratch", ".dockerignore": "*.md\n"})
	c, err := Load(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if c.Excluded("Dockerfile", false) || c.Excluded(".dockerignore", false) {
		t.Error("Dockerfile and .dockerignore are part of the context unless ignored")
	}
}
