package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/kiln-build/kiln/internal/testutil"
	"github.com/kiln-build/kiln/internal/testutil/seaweedfs"
)

// suite is the state shared by every test of one test binary run: the kiln
// binary, and one store, so cached steps are shared between tests.
var suite struct {
	skip  string // why every test is skipped; empty when the suite can run
	tmp   string // removed when the run ends
	kiln  string // the kiln binary built by TestMain
	store string // the shared kiln store (--root)
}

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if suite.skip = missingPrerequisite(); suite.skip != "" {
		fmt.Fprintln(os.Stderr, "integration: skipping every test:", suite.skip)
		return m.Run()
	}
	tmp, err := os.MkdirTemp("", "kiln-it-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration:", err)
		return 1
	}
	suite.tmp = tmp
	defer cleanupSuite()
	defer seaweedfs.StopShared()
	suite.kiln = filepath.Join(tmp, "kiln")
	suite.store = filepath.Join(tmp, "store")
	out, err := exec.Command("go", "build", "-o", suite.kiln, "github.com/kiln-build/kiln/cmd/kiln").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "integration: building kiln: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// cleanupSuite removes the temp dir unless KILN_IT_KEEP is set (to inspect
// the store after a failure).
func cleanupSuite() {
	if os.Getenv("KILN_IT_KEEP") != "" {
		fmt.Fprintln(os.Stderr, "integration: keeping", suite.tmp)
		return
	}
	if err := os.RemoveAll(suite.tmp); err != nil {
		fmt.Fprintln(os.Stderr, "integration: removing temp dir:", err)
	}
}

// missingPrerequisite names what the suite needs and this machine lacks.
func missingPrerequisite() string {
	if os.Geteuid() != 0 {
		return "needs root (overlayfs mounts and runc)"
	}
	for _, tool := range []string{"runc", "umoci", "skopeo", "go", "tar"} {
		if _, err := exec.LookPath(tool); err != nil {
			return "needs " + tool + " on PATH (apt-get install " + tool + ")"
		}
	}
	if _, err := os.Stat(testutil.BusyboxPath); err != nil {
		return "needs " + testutil.BusyboxPath + " (apt-get install busybox-static)"
	}
	return ""
}

// requireSuite skips t when the suite cannot run and makes sure the base
// images exist.
func requireSuite(t *testing.T) {
	t.Helper()
	if suite.skip != "" {
		t.Skip(suite.skip)
	}
	baseImages(t)
}
