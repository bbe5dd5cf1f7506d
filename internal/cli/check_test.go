package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
