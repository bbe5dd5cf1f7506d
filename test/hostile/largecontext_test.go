package hostile

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kiln-build/kiln/test/harness"
)

// contextFiles is the size of the large context: 100 directories of 1,000
// small files, as a monorepo's node_modules is.
const contextDirs, filesPerDir = 100, 1000

// largeContextLimit bounds the build; it finishes in a fraction of it.
const largeContextLimit = 3 * time.Minute

// TestLargeContext: COPY . /ctx from a 100,000-file context ends in bounded
// time with every file in the image. The build takes about 26 s on the
// 2-core CI machine, but making and removing 300,000 files (context, store,
// output) brings the test to about 110 s: it runs with KILN_TEST_LARGE=1,
// as .ci/run sets.
func TestLargeContext(t *testing.T) {
	if os.Getenv("KILN_TEST_LARGE") == "" {
		t.Skip("a 100,000-file context takes about 110 s: set KILN_TEST_LARGE=1")
	}
	t.Parallel()
	s := harness.NewStore(t)
	ctx := t.TempDir()
	harness.WriteFile(t, filepath.Join(ctx, "Dockerfile"), "FROM scratch\nCOPY . /ctx/\n", 0o644)
	for d := range contextDirs {
		dir := filepath.Join(ctx, fmt.Sprintf("d%03d", d))
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for f := range filesPerDir {
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%04d", f)), []byte(fmt.Sprintf("%d/%d\n", d, f)), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	out := filepath.Join(t.TempDir(), "out")
	cmd := s.Command(t, "build", "--progress", "plain", "-o", "type=local,dest="+out, ctx)
	var log strings.Builder
	cmd.Stdout, cmd.Stderr = &log, &log
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the build failed: %v\n%s", err, log.String())
		}
	case <-time.After(largeContextLimit):
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-done
		s.Run(t, "images") // any command cleans up what the killed one left
		t.Fatalf("COPY . /ctx of %d files did not end within %s:\n%s", contextDirs*filesPerDir, largeContextLimit, log.String())
	}
	took := time.Since(start)
	files := 0
	err := filepath.WalkDir(filepath.Join(out, "ctx"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			files++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := contextDirs*filesPerDir + 1; files != want { // and the Dockerfile
		t.Errorf("the image's /ctx holds %d files, want %d", files, want)
	}
	if data, err := os.ReadFile(filepath.Join(out, "ctx", "d042", "f0999")); err != nil || string(data) != "42/999\n" {
		t.Errorf("/ctx/d042/f0999 = %q (%v), want %q", data, err, "42/999\n")
	}
	t.Logf("COPY . /ctx of %d files: %s", files, took.Round(100*time.Millisecond))
}
