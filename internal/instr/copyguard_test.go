package instr

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	fscopy "github.com/tonistiigi/fsutil/copy"
)

// TestCopyGuardTruncatedSource: a source file truncated while fsutil
// copies it (after its stat) made fsutil's copy_file_range loop spin
// forever; under copyGuarded the copy ends, in bounded time, with an error
// naming the file.
func TestCopyGuardTruncatedSource(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	big := filepath.Join(src, "build.log")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(128 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	// Truncate the file as soon as the copy has it open.
	truncated := make(chan struct{})
	go func() {
		defer close(truncated)
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			entries, _ := os.ReadDir("/proc/self/fd")
			for _, e := range entries {
				if p, _ := os.Readlink("/proc/self/fd/" + e.Name()); p == big {
					_ = os.Truncate(big, 0)
					return
				}
			}
		}
	}()
	start := time.Now()
	errc := make(chan error, 1)
	go func() {
		errc <- copyGuarded(src, func() error {
			return fscopy.Copy(context.Background(), src, "build.log", dst, "/build.log")
		})
	}()
	select {
	case err = <-errc:
	case <-time.After(30 * time.Second):
		t.Fatal("the copy of a truncated file did not end within 30 s")
	}
	<-truncated
	took := time.Since(start)
	fi, _ := os.Stat(filepath.Join(dst, "build.log"))
	if err == nil {
		// The copy won the race against the truncation (it copied the file
		// whole) or lost it before it began (it copied the empty file).
		if fi == nil || (fi.Size() != 128<<20 && fi.Size() != 0) {
			t.Fatalf("copy succeeded with %v", fi)
		}
		t.Skipf("the copy did not overlap the truncation (copied %d bytes); nothing to guard", fi.Size())
	}
	if !strings.Contains(err.Error(), "build.log shrank while it was copied") {
		t.Fatalf("error %v, want one naming build.log", err)
	}
	t.Logf("stopped after %s: %v", took, err)
}
