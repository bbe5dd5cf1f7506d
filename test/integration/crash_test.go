package integration

import (
	"bytes"
	"context"
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

// startBuild starts a build in the background.
func startBuild(t *testing.T, root, ctxDir string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	var out bytes.Buffer
	cmd := exec.Command(kilnBin(t), "--root", root, "build", "--progress", "plain", "--no-cache",
		"-t", "crash:1", "-o", "type=oci,dest="+filepath.Join(ctxDir, "..", "out.tar"), ctxDir)
	cmd.Stdout, cmd.Stderr = &out, &out
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
// exporting): the store stays verifiable and the next build succeeds and
// cleans up what the killed one left.
func TestKilledBuildsLeaveStoreUsable(t *testing.T) {
	root := crashStore(t)
	ctxDir := filepath.Join(t.TempDir(), "ctx")
	writeFiles(t, ctxDir, map[string]string{
		"Dockerfile": "FROM busybox:test\nCOPY big /big\nRUN sleep 0.3 && dd if=/dev/zero of=/z bs=1M count=8 2>/dev/null\nRUN echo done > /done\n",
		"big":        strings.Repeat("kiln", 4<<20),
	})
	const kills = 12
	for i := 0; i < kills; i++ {
		cmd, out := startBuild(t, root, ctxDir)
		time.Sleep(time.Duration(50+i*120) * time.Millisecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		if got := kilnAt(t, root, "store", "verify"); !strings.Contains(got, "consistent") {
			t.Fatalf("kill %d: store verify says:\n%s\nbuild output:\n%s", i, got, out)
		}
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
	root := crashStore(t)
	ctxDir := filepath.Join(t.TempDir(), "ctx")
	writeFiles(t, ctxDir, map[string]string{"Dockerfile": "FROM busybox:test\nRUN sleep 60\n"})
	cmd, out := startBuild(t, root, ctxDir)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "RUN sleep 60") && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
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
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if ps, _ := exec.CommandContext(ctx, "pgrep", "-f", "sleep 60").Output(); len(ps) > 0 {
		t.Fatalf("the container's process survived: %s", fmt.Sprint(string(ps)))
	}
}
