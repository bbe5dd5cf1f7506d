package integration

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kiln-build/kiln/test/harness"
)

// tickingSecretRun is a RUN that mounts a secret and prints until killed,
// so kiln keeps writing progress.
const tickingSecretRun = "FROM busybox:test\nRUN --mount=type=secret,id=tok,env=TOK --mount=type=secret,id=tok,target=/tok " +
	"sh -c 'while :; do echo tick; sleep 0.2; done'\n"

// startSecretBuild starts a build of tickingSecretRun on its own store and
// returns once the RUN prints; stderr is kiln's standard error (a pipe).
func startSecretBuild(t *testing.T, secret string) (s *harness.Store, cmd *exec.Cmd, stderr *bufio.Reader, closeStderr func()) {
	t.Helper()
	s = harness.NewStore(t, harness.Busybox)
	ctx := t.TempDir()
	harness.WriteFile(t, filepath.Join(ctx, "Dockerfile"), tickingSecretRun, 0o644)
	src := filepath.Join(t.TempDir(), "tok")
	harness.WriteFile(t, src, secret, 0o600)
	cmd = s.Command(t, "build", "--progress", "plain", "--secret", "id=tok,src="+src, ctx)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait(); pr.Close() })
	stderr = bufio.NewReader(pr)
	for {
		line, err := stderr.ReadString('\n')
		if err != nil {
			t.Fatalf("kiln's output ended before the RUN printed: %v", err)
		}
		if strings.HasSuffix(line, " tick\n") {
			break
		}
	}
	return s, cmd, stderr, func() { pr.Close() }
}

// waitExit waits for kiln to exit (bounded) and returns its exit code.
func waitExit(t *testing.T, cmd *exec.Cmd, what string) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("kiln did not stop within 30 s of %s", what)
	}
	ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		t.Fatalf("kiln died of %s instead of stopping cleanly", ws.Signal())
	}
	return ws.ExitStatus()
}

// assertSecretGone fails if a secret directory on tmpfs, or the store (a
// RUN bundle's config.json holds an env= secret while the step runs),
// still holds secret.
func assertSecretGone(t *testing.T, store, secret string) {
	t.Helper()
	for _, hit := range findBytes(t, store, []byte(secret)) {
		t.Errorf("the secret is left in the store: %s", hit)
	}
	for _, base := range []string{"/dev/shm", os.TempDir()} {
		dirs, _ := filepath.Glob(filepath.Join(base, "kiln-secret-*"))
		for _, d := range dirs {
			if b, err := os.ReadFile(filepath.Join(d, "secret")); err == nil && string(b) == secret {
				t.Errorf("the secret is left in %s", d)
			}
		}
	}
}

// SIGHUP and SIGTERM stop a build as Ctrl-C does: exit 130, the container
// killed, nothing mounted, the secret gone.
func TestHangupStopsBuild(t *testing.T) {
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGHUP, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			secret := randomSecret(t)
			s, cmd, stderr, _ := startSecretBuild(t, secret)
			go io.Copy(io.Discard, stderr)
			_ = cmd.Process.Signal(sig)
			if code := waitExit(t, cmd, sig.String()); code != 130 {
				t.Errorf("exit code %d after %s, want 130", code, sig)
			}
			assertStoreClean(t, s.Root)
			assertSecretGone(t, s.Root, secret)
		})
	}
}

// `kiln build 2>&1 | head`: once the reader of kiln's output is gone, kiln
// stops as on Ctrl-C instead of dying of SIGPIPE with its container running.
func TestClosedOutputStopsBuild(t *testing.T) {
	t.Parallel()
	secret := randomSecret(t)
	s, cmd, _, closeStderr := startSecretBuild(t, secret)
	closeStderr()
	if code := waitExit(t, cmd, "its standard error closing"); code != 130 {
		t.Errorf("exit code %d, want 130", code)
	}
	assertStoreClean(t, s.Root)
	assertSecretGone(t, s.Root, secret)
}

// After a SIGKILL during a RUN that mounts a secret, the next kiln command,
// whichever it is, stops the orphaned container, unmounts its rootfs and
// removes the secret from tmpfs.
func TestNextCommandReapsKilledBuild(t *testing.T) {
	t.Parallel()
	for _, next := range [][]string{{"images"}, {"store", "verify"}, {"prune"}} {
		t.Run(next[0], func(t *testing.T) {
			t.Parallel()
			secret := randomSecret(t)
			s, cmd, stderr, _ := startSecretBuild(t, secret)
			go io.Copy(io.Discard, stderr)
			_ = cmd.Process.Signal(syscall.SIGKILL)
			_ = cmd.Wait()
			s.MustRun(t, next...)
			assertStoreClean(t, s.Root)
			assertSecretGone(t, s.Root, secret)
		})
	}
}
