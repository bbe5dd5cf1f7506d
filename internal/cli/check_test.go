package cli

import (
	"archive/tar"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/containerd/platforms"

	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/store"
)

// kiln check reads the context's .dockerignore: PATH, else the directory of -f.
func TestCheckReadsContextIgnoreFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("Dockerfile", "FROM scratch\nCOPY .env /app/\n")
	write(".dockerignore", ".env\n")
	const want = `CopyIgnoredFile: Attempting to Copy file ".env" that is excluded by .dockerignore`
	for name, args := range map[string][]string{
		"PATH": {dir},
		"-f":   {"-f", filepath.Join(dir, "Dockerfile")},
	} {
		var out bytes.Buffer
		cmd := newCheckCmd()
		cmd.SetArgs(args)
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		if err := cmd.Execute(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !strings.Contains(out.String(), want) {
			t.Errorf("%s: output lacks %q:\n%s", name, want, out.String())
		}
	}
}

// tarOf is a tar of the files, as `tar -c` of a context would be.
func tarOf(t *testing.T, files map[string]string) string {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(files[name])), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(files[name])); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// kiln check and kiln build --check take the Dockerfile (-f -) or the
// context (a tar, PATH -) on standard input, as kiln build does.
func TestCheckFromStdin(t *testing.T) {
	const dockerfile = "FROM scratch\nCOPY .env /app/\n"
	const rule = `CopyIgnoredFile: Attempting to Copy file ".env" that is excluded by .dockerignore`
	const buildxRule = "WARNING: CopyIgnoredFile - https://docs.docker.com/go/dockerfile/rule/copy-ignored-file/\n" +
		`Attempting to Copy file ".env" that is excluded by .dockerignore`
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ".dockerignore"), []byte(".env\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctxTar := tarOf(t, map[string]string{"Dockerfile": dockerfile, ".dockerignore": ".env\n", "sub/Other": dockerfile})
	for _, c := range []struct {
		name, stdin string
		args        []string
		want        string
	}{
		{"check -f - PATH", dockerfile, []string{"check", "-f", "-", dir}, "<stdin>:2: " + rule},
		{"check -", ctxTar, []string{"check", "-"}, "Dockerfile:2: " + rule},
		{"check -f in the tar", ctxTar, []string{"check", "-f", "sub/Other", "-"}, "sub/Other:2: " + rule},
		// build --check is buildx's --call=check: its text, exit status 1.
		{"build --check -", ctxTar, []string{"build", "--check", "-"}, buildxRule + "\nDockerfile:2"},
		{"build --check -f -", dockerfile, []string{"build", "--check", "-f", "-", dir}, buildxRule + "\n<stdin>:2"},
	} {
		out, err := runKiln(t, c.stdin, c.args...)
		if c.args[0] == "build" && errors.As(err, new(reported)) {
			err = nil
		}
		if err != nil {
			t.Errorf("%s: %v\n%s", c.name, err, out)
			continue
		}
		if !strings.Contains(out, c.want+"\n") {
			t.Errorf("%s: output lacks %q:\n%s", c.name, c.want, out)
		}
	}

	// With no PATH, -f - reads the current directory's ignore file.
	t.Chdir(dir)
	if out, err := runKiln(t, dockerfile, "check", "-f", "-"); err != nil || !strings.Contains(out, "<stdin>:2: "+rule) {
		t.Errorf("check -f - without PATH: %v\n%s", err, out)
	}

	if _, err := runKiln(t, "", "check", "-f", "-", "-"); !errors.As(err, new(usageError)) {
		t.Errorf("check -f - -: %v, want a usage error", err)
	}
	noDockerfile := tarOf(t, map[string]string{"README": "x"})
	if _, err := runKiln(t, noDockerfile, "build", "--check", "-"); err == nil || err.Error() != "loading Dockerfile: open Dockerfile: no such file or directory" {
		t.Errorf("a context tar without a Dockerfile: %v", err)
	}
}

// kiln check and kiln build --check know the env of a base image in the
// store (--root): its names are defined, every other unset name is
// reported, as BuildKit does; an image not in the store is judged without
// it. build --check takes --build-arg.
func TestCheckKnowsStoredBaseEnv(t *testing.T) {
	root := t.TempDir()
	s, err := store.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	img := image.New(platforms.Normalize(platforms.DefaultSpec()))
	img.SetEnv("FOO", "1")
	desc, err := image.Commit(s, img)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Tag("example.com/base:1", desc); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	src := "ARG BASE=example.com/base:1\nFROM $BASE\nWORKDIR /$FOO/$BAR\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	const bar = "Usage of undefined variable '$BAR'" // kiln check's and buildx's text both have it
	for _, c := range []struct {
		name string
		args []string
		want bool
	}{
		{"check, stored base", []string{"--root", root, "check", dir}, true},
		{"build --check, stored base", []string{"--root", root, "build", "--check", dir}, true},
		{"build --check, a build argument names another base", []string{"--root", root, "build", "--check", "--build-arg", "BASE=example.com/other", dir}, false},
		{"check, no store", []string{"--root", filepath.Join(dir, "nostore"), "check", dir}, false},
	} {
		out, err := runKiln(t, "", c.args...)
		// build --check (buildx's --call=check) exits 1 on a warning.
		if c.args[2] == "build" && c.want && errors.As(err, new(reported)) {
			err = nil
		}
		if err != nil {
			t.Errorf("%s: %v\n%s", c.name, err, out)
			continue
		}
		if got := strings.Contains(out, bar); got != c.want {
			t.Errorf("%s: reports $BAR: %v, want %v:\n%s", c.name, got, c.want, out)
		}
		if strings.Contains(out, "'$FOO'") {
			t.Errorf("%s: $FOO reported:\n%s", c.name, out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "nostore")); !os.IsNotExist(err) {
		t.Errorf("check created the store: %v", err)
	}
}

// A Dockerfile the build would refuse fails the check with the build's
// error, naming its file and line, after the findings before it.
func TestCheckFailsWithTheBuildError(t *testing.T) {
	dir := t.TempDir()
	src := "FROM scratch\nCOPY $UNSET /x\nEXPOSE 1:80/bogus\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd := newCheckCmd()
	cmd.SetArgs([]string{dir})
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	err := cmd.Execute()
	if err == nil || !strings.Contains(err.Error(), "Dockerfile:3") || !strings.Contains(err.Error(), "invalid proto: bogus") {
		t.Fatalf("check of an invalid EXPOSE: %v, want the build's error at Dockerfile:3", err)
	}
	if !strings.Contains(out.String(), "UndefinedVar") {
		t.Errorf("the finding before the error is missing:\n%s", out.String())
	}
}
