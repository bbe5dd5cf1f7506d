package hostile

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kiln-build/kiln/test/harness"
)

// TestContextFileChurn: a context file appended to, and truncated while
// COPY copies it (the build's own output redirected into its context, the
// common `> build.log` habit), gives either a copy of the file or a clear
// error naming it, in bounded time. It used to spin at 100 % CPU in
// fsutil's copy_file_range loop forever.
func TestContextFileChurn(t *testing.T) {
	t.Parallel()
	s := harness.NewStore(t)
	ctx := t.TempDir()
	harness.WriteFile(t, filepath.Join(ctx, "Dockerfile"), "FROM scratch\nCOPY . /ctx/\n", 0o644)
	log := filepath.Join(ctx, "build.log")
	f, err := os.OpenFile(log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(512 << 20); err != nil { // sparse: cheap to make, slow enough to copy
		t.Fatal(err)
	}
	cmd := s.Command(t, "build", "--progress", "plain", "-o", "type=local,dest="+filepath.Join(t.TempDir(), "out"), ctx)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	// Append a line every millisecond, as a log grows; cut the file to
	// nothing once kiln copies it (opens it below its store: hashing reads
	// it in the context).
	truncated := false
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	deadline := time.After(time.Minute)
wait:
	for {
		select {
		case err = <-done:
			break wait
		case <-deadline:
			_ = cmd.Process.Signal(syscall.SIGKILL)
			<-done
			s.Run(t, "images") // any command cleans up what the killed one left
			t.Fatalf("the build did not end within a minute of COPY . . over a truncated file (truncated: %v):\n%s", truncated, out.String())
		case <-tick.C:
		}
		_, _ = f.WriteString("#1 0.100 appended log line\n")
		if !truncated && copying(cmd.Process.Pid, s.Root, "/build.log") {
			truncated = f.Truncate(0) == nil
		}
	}
	if err != nil && !strings.Contains(out.String(), "build.log shrank while it was copied") {
		t.Fatalf("the build failed without naming the truncated file: %v\n%s", err, out.String())
	}
	t.Logf("truncated during the copy: %v; build error: %v", truncated, err)
	s.Verify(t)
}

// copying reports whether kiln (pid) has a file open below its store whose
// path ends in suffix: the COPY reading it from the context's view.
func copying(pid int, store, suffix string) bool {
	dir := "/proc/" + strconv.Itoa(pid) + "/fd"
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if p, err := os.Readlink(filepath.Join(dir, e.Name())); err == nil && strings.HasPrefix(p, store+"/") && strings.HasSuffix(p, suffix) {
			return true
		}
	}
	return false
}
