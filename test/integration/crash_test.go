package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kiln-build/kiln/test/harness"
)

// crashStore is a fresh store holding busybox:test, so kills cannot disturb
// the other tests' store.
func crashStore(t *testing.T) string {
	t.Helper()
	return harness.NewStore(t, harness.Busybox).Root
}

func kilnAt(t *testing.T, root string, args ...string) string {
	t.Helper()
	out, err := exec.Command(kilnBin(t), append([]string{"--root", root}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("kiln %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// startBuild starts a build in the background, with extra environment env.
func startBuild(t *testing.T, root, ctxDir string, env ...string) (*exec.Cmd, *lockedBuffer) {
	t.Helper()
	var out lockedBuffer
	cmd := exec.Command(kilnBin(t), "--root", root, "build", "--progress", "plain", "--no-cache",
		"-t", "crash:1", "-o", "type=oci,dest="+filepath.Join(ctxDir, "..", "out.tar"), ctxDir)
	cmd.Env = harness.Environ(env...)
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, &out
}

func assertStoreClean(t *testing.T, root string) {
	t.Helper()
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	if strings.Contains(string(mounts), root) {
		t.Fatalf("mounts under the store are left:\n%s", mounts)
	}
	out, err := exec.Command("runc", "--root", filepath.Join(root, "run", "runc"), "list", "-q").Output()
	if err == nil && strings.TrimSpace(string(out)) != "" {
		t.Fatalf("runc containers are left: %s", out)
	}
	for _, d := range []string{"tmp", "mnt"} {
		if entries, _ := os.ReadDir(filepath.Join(root, d)); len(entries) > 0 {
			t.Fatalf("%s/ holds leftovers: %v", d, entries)
		}
	}
}

// SIGKILL at many moments of a build (copying, running, committing,
// exporting), chosen among its kill points (internal/testhook): the store
// stays verifiable and the next build succeeds and cleans up what the
// killed one left.
func TestKilledBuildsLeaveStoreUsable(t *testing.T) {
	t.Parallel()
	root := crashStore(t)
	ctxDir := filepath.Join(t.TempDir(), "ctx")
	writeFiles(t, ctxDir, map[string]string{
		"Dockerfile": "FROM busybox:test\nCOPY big /big\nRUN sleep 0.3 && dd if=/dev/zero of=/z bs=1M count=8 2>/dev/null\nRUN echo done > /done\n",
		"big":        strings.Repeat("kiln", 4<<20),
	})
	// A traced build on a store of its own lists the build's points in order.
	trace := filepath.Join(t.TempDir(), "trace")
	cmd, out := startBuild(t, crashStore(t), ctxDir, "KILN_TEST_KILLPOINT=trace", "KILN_TEST_KILLPOINT_FILE="+trace)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the traced build failed: %v\n%s", err, out)
	}
	points := readMarks(t, trace)
	const kills = 12
	landed := 0
	for i, n := range spread(len(points), kills) {
		p := points[n-1]
		marker := filepath.Join(t.TempDir(), "marker")
		cmd, out := startBuild(t, root, ctxDir, fmt.Sprintf("KILN_TEST_KILLPOINT=%s:%d", p.phase, p.n), "KILN_TEST_KILLPOINT_FILE="+marker)
		if killAtMark(t, cmd, out, root, p.phase, marker) {
			landed++
		} else {
			t.Logf("kill %d (%s:%d): the build ended before reaching the point", i, p.phase, p.n)
		}
		if got := kilnAt(t, root, "store", "verify"); !strings.Contains(got, "consistent") {
			t.Fatalf("kill %d (%s:%d): store verify says:\n%s\nbuild output:\n%s", i, p.phase, p.n, got, out)
		}
	}
	if landed < kills/2 {
		t.Errorf("%d of %d kills landed, want at least %d", landed, kills, kills/2)
	}
	kilnAt(t, root, "build", "--progress", "plain", "-t", "crash:1", ctxDir)
	assertStoreClean(t, root)
	if got := kilnAt(t, root, "store", "verify"); !strings.Contains(got, "consistent") {
		t.Fatalf("store verify after the rebuild:\n%s", got)
	}
}

// Ctrl-C stops a build promptly with exit code 130, kills its container and
// leaves nothing mounted.
func TestInterruptStopsBuild(t *testing.T) {
	t.Parallel()
	root := crashStore(t)
	ctxDir := filepath.Join(t.TempDir(), "ctx")
	// The marker is printed once sleep runs; $((...)) keeps the step's
	// title, which the progress shows too, from matching it.
	writeFiles(t, ctxDir, map[string]string{"Dockerfile": "FROM busybox:test\nRUN sleep 60 & echo kiln-$((6*7))-sleeping; wait\n"})
	cmd, out := startBuild(t, root, ctxDir)
	procs := waitForContainer(t, root, out, "kiln-42-sleeping")
	start := time.Now()
	_ = cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("kiln did not stop within 15 s of SIGINT:\n%s", out)
	}
	if code := cmd.ProcessState.ExitCode(); code != 130 {
		t.Fatalf("exit code %d, want 130:\n%s", code, out)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("stopping took %s", took)
	}
	assertStoreClean(t, root)
	for _, p := range procs {
		if p.alive() {
			t.Fatalf("the container's process %d survived", p.pid)
		}
	}
}
