package buildctx

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestDockerfileConfined: the Dockerfile is read as BuildKit reads it from
// its "dockerfile" local, symlinks followed only inside its directory, so a
// link to a host file is refused before anything of it is read.
func TestDockerfileConfined(t *testing.T) {
	t.Setenv("KILN_TEST_CANARY", "kiln-canary-value")
	outside := t.TempDir()
	writeFiles(t, outside, map[string]string{"Dockerfile": "FROM outside"})
	tests := []struct {
		name  string
		files map[string]string
		want  string // the Dockerfile read, or "" for an error
		err   string
	}{
		{"environ", map[string]string{"Dockerfile": "-> /proc/self/environ"}, "", "refused"},
		{"dev zero", map[string]string{"Dockerfile": "-> /dev/zero"}, "", "refused"},
		{"relative escape", map[string]string{"Dockerfile": "-> ../../../../../../proc/self/environ"}, "", "refused"},
		{"outside dir", map[string]string{"Dockerfile": "-> " + filepath.Join(outside, "Dockerfile")}, "", "refused"},
		{"inside link", map[string]string{"Dockerfile": "-> docker/Dockerfile.prod", "docker/Dockerfile.prod": "FROM inside"}, "FROM inside", ""},
		{"dangling", map[string]string{"Dockerfile": "-> nope"}, "", "no such file"},
		{"directory", map[string]string{"Dockerfile/": ""}, "", "is a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, tt.files)
			c, err := Load(dir, "")
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), "Dockerfile") {
					t.Fatalf("Load: %v, want an error naming Dockerfile with %q", err, tt.err)
				}
				if strings.Contains(err.Error(), "kiln-canary-value") {
					t.Fatalf("error leaks the environment: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := ReadDockerfile(c.Dockerfile, c.DockerfileName)
			if err != nil || string(got) != tt.want {
				t.Fatalf("ReadDockerfile = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// TestDockerfileOutsideContext: -f outside the context is the user's
// explicit path, allowed as in buildx, and still confined to its directory.
func TestDockerfileOutsideContext(t *testing.T) {
	ctx, other := t.TempDir(), t.TempDir()
	writeFiles(t, other, map[string]string{"app.Dockerfile": "FROM elsewhere", "leak.Dockerfile": "-> /proc/self/environ"})
	c, err := Load(ctx, filepath.Join(other, "app.Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := ReadDockerfile(c.Dockerfile, c.DockerfileName); err != nil || string(got) != "FROM elsewhere" {
		t.Fatalf("ReadDockerfile = %q, %v", got, err)
	}
	if _, err := Load(ctx, filepath.Join(other, "leak.Dockerfile")); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("Load of a -f symlink to /proc: %v, want refused", err)
	}
}

func TestDockerfileSizeLimit(t *testing.T) {
	dir := t.TempDir()
	big := strings.Repeat("# x\n", MaxFileSize/4+1)
	writeFiles(t, dir, map[string]string{"Dockerfile": big})
	_, err := Load(dir, "")
	var tooLarge *FileTooLargeError
	if !errors.As(err, &tooLarge) || !strings.Contains(err.Error(), "Dockerfile exceeds maximum allowed size of 16777216 bytes") {
		t.Fatalf("Load of a %d-byte Dockerfile: %v", len(big), err)
	}
	ok := strings.Repeat("# x\n", MaxFileSize/4)
	writeFiles(t, dir, map[string]string{"Dockerfile": ok})
	if _, err := Load(dir, ""); err != nil {
		t.Fatalf("Load of a %d-byte Dockerfile (the limit): %v", len(ok), err)
	}
}

// TestDockerfileFIFO: a FIFO is refused at once, not waited on.
func TestDockerfileFIFO(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, "Dockerfile"), 0o644); err != nil {
		t.Skip("mkfifo:", err)
	}
	if _, err := Load(dir, ""); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("Load of a FIFO Dockerfile: %v", err)
	}
}

// TestIgnoreFileConfined: .dockerignore and <Dockerfile>.dockerignore are
// read with the Dockerfile's rules.
func TestIgnoreFileConfined(t *testing.T) {
	for _, name := range []string{".dockerignore", "Dockerfile.dockerignore"} {
		for _, target := range []string{"/proc/self/environ", "/dev/zero"} {
			dir := t.TempDir()
			writeFiles(t, dir, map[string]string{"Dockerfile": "FROM scratch", name: "-> " + target})
			if _, err := Load(dir, ""); err == nil || !strings.Contains(err.Error(), "refused") {
				t.Errorf("%s -> %s: Load = %v, want refused", name, target, err)
			}
		}
	}
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"Dockerfile": "FROM scratch", ".dockerignore": "-> ignore/rules", "ignore/rules": "*.log\n"})
	c, err := Load(dir, "")
	if err != nil || len(c.Ignore) != 1 || c.Ignore[0] != "*.log" {
		t.Fatalf("a .dockerignore symlink inside the context: %v, %q", err, c.Ignore)
	}
	if err := os.WriteFile(filepath.Join(dir, "ignore/rules"), []byte(strings.Repeat("x\n", MaxFileSize/2+1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir, ""); err == nil || !strings.Contains(err.Error(), "exceeds maximum allowed size") {
		t.Fatalf("an oversized .dockerignore: %v", err)
	}
}
