package harness

import (
	"fmt"
	"os"
	"sync"
	"testing"
)

// work is the harness's directory for one test binary: the kiln binary,
// the base images and their templates. Main removes it.
var work struct {
	once sync.Once
	dir  string
	err  error
}

// workDir returns the harness's directory, making it on first use.
func workDir(t testing.TB) string {
	t.Helper()
	work.once.Do(func() {
		work.dir, work.err = os.MkdirTemp("", "kiln-harness-")
	})
	if work.err != nil {
		t.Fatalf("making the harness's work directory: %v", work.err)
	}
	return work.dir
}

// Main runs the package's tests, then checks that no test changed a shared
// base image (their stores hard-link its files) and removes what the
// harness made, unless KILN_TEST_KEEP is set. Call it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(harness.Main(m)) }
func Main(m *testing.M) int {
	code := m.Run()
	if err := checkTemplates(); err != nil {
		fmt.Fprintln(os.Stderr, "harness:", err)
		code = 1
	}
	if work.dir == "" {
		return code
	}
	if os.Getenv("KILN_TEST_KEEP") != "" {
		fmt.Fprintln(os.Stderr, "harness: keeping", work.dir)
		return code
	}
	if err := removeAll(work.dir); err != nil {
		fmt.Fprintln(os.Stderr, "harness: removing the work directory:", err)
	}
	return code
}

// removeAll removes p, making read-only directories writable first.
func removeAll(p string) error {
	if err := os.RemoveAll(p); err == nil {
		return nil
	}
	_ = chmodDirs(p)
	return os.RemoveAll(p)
}

// TempDir returns a fresh directory that lives as long as the test binary
// (Main removes it), for a fixture several tests share.
func TempDir(t testing.TB) string {
	t.Helper()
	d, err := os.MkdirTemp(workDir(t), "tmp-")
	if err != nil {
		t.Fatal(err)
	}
	return d
}
