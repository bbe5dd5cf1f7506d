package oracletest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// tool is one binary directory made by a tool module's build.sh (cached on
// the machine by version, so only the first run of a machine compiles).
type tool struct {
	env    string // overrides the build: a directory holding the binaries
	module string // the tool module's directory under test/
	once   sync.Once
	dir    string
	err    string
}

var (
	buildkitTool = &tool{env: "KILN_TEST_BUILDKIT", module: "oracle"}
	buildxTool   = &tool{env: "KILN_TEST_BUILDX", module: "buildx"}
)

// BuildKitDir returns the directory holding buildkitd and buildctl: the
// one $KILN_TEST_BUILDKIT names, else what test/oracle/build.sh prints.
func BuildKitDir(t testing.TB) string { return buildkitTool.get(t) }

// BuildxDir returns the directory holding buildx: $KILN_TEST_BUILDX, else
// what test/buildx/build.sh prints.
func BuildxDir(t testing.TB) string { return buildxTool.get(t) }

func (b *tool) get(t testing.TB) string {
	t.Helper()
	b.once.Do(func() {
		if d := os.Getenv(b.env); d != "" {
			b.dir = d
			return
		}
		script := filepath.Join(testDir(), b.module, "build.sh")
		var stderr bytes.Buffer
		cmd := exec.Command(script)
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			b.err = "building test/" + b.module + ": " + err.Error() + "\n" + stderr.String()
			return
		}
		b.dir = strings.TrimSpace(string(out))
	})
	if b.err != "" {
		t.Fatal(b.err)
	}
	return b.dir
}

// testDir is the repository's test/ directory, found from this source
// file, so that any package's tests can build the tool modules.
func testDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}
