package executor

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/kiln-build/kiln/internal/deathsig"
	"github.com/kiln-build/kiln/internal/runcstate"
	"github.com/kiln-build/kiln/internal/testhook"
)

const (
	// killTimeout bounds how long a cancelled run waits for runc kill to
	// take effect before killing runc itself.
	killTimeout = 3 * time.Second
	// pipeDelay bounds how long output is drained after runc exits.
	pipeDelay = 5 * time.Second
)

type bundle struct {
	id  string
	dir string
}

// newBundle creates the bundle directory with an owner file naming this
// process, so that Cleanup can tell a live run from a crashed one.
func (r *Runner) newBundle(prefix string) (*bundle, error) {
	b := &bundle{id: containerID(prefix)}
	b.dir = filepath.Join(r.bundles, b.id)
	if err := os.Mkdir(b.dir, 0o711); err != nil {
		return nil, fmt.Errorf("creating bundle: %w", err)
	}
	if err := runcstate.WriteOwner(b.dir); err != nil {
		os.RemoveAll(b.dir)
		return nil, err
	}
	return b, nil
}

// containerID makes a runc-safe id from prefix plus a random suffix, so that
// a retried or parallel step never collides with a leftover container.
func containerID(prefix string) string {
	var sb strings.Builder
	for _, c := range prefix {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-', c == '.':
			sb.WriteRune(c)
		default:
			sb.WriteByte('-')
		}
	}
	id := strings.Trim(sb.String(), "-.")
	if len(id) > 40 {
		id = id[:40]
	}
	if id == "" {
		id = "kiln"
	}
	buf := make([]byte, 6)
	_, _ = rand.Read(buf)
	return id + "-" + hex.EncodeToString(buf)
}

// runContainer runs `runc run` in the foreground: the container's stdio is
// runc's, so output streams straight to the writers.
func (r *Runner) runContainer(ctx context.Context, b *bundle, stdout, stderr io.Writer) error {
	logPath := filepath.Join(b.dir, "runc.log")
	args := []string{"--root", r.root, "--log", logPath, "--log-format", "json", "run", "--bundle", b.dir}
	if r.noNewKeyring {
		args = append(args, "--no-new-keyring")
	}
	if r.noPivot {
		args = append(args, "--no-pivot")
	}
	cmd := exec.Command(r.runc, append(args, b.id)...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	// Own process group: a terminal's ^C reaches kiln, which cancels ctx,
	// rather than runc directly. deathsig: runc must not outlive kiln.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = pipeDelay
	wait, err := deathsig.Start(cmd)
	if err != nil {
		return fmt.Errorf("starting runc: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- wait() }()
	testhook.Point(testhook.Run)

	select {
	case err := <-done:
		return exitResult(err, logPath)
	case <-ctx.Done():
		r.kill(cmd, b.id, done)
		return ctx.Err()
	}
}

// kill stops a cancelled container: SIGKILL through runc (retried, since the
// container may not exist yet), then runc itself if it lingers, then delete.
// It returns once runc has been reaped, so no zombie is left.
func (r *Runner) kill(cmd *exec.Cmd, id string, done <-chan error) {
	ctx := context.Background()
	deadline := time.After(killTimeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		_ = r.runcCmd(ctx, "kill", id, "KILL")
		select {
		case <-done:
			_ = r.delete(ctx, id)
			return
		case <-deadline:
			_ = cmd.Process.Kill()
			_ = r.delete(ctx, id)
			<-done
			return
		case <-tick.C:
		}
	}
}

// delete removes the container's runc state, killing what is left of it.
func (r *Runner) delete(ctx context.Context, id string) error { return r.state().Delete(ctx, id) }

func (r *Runner) runcCmd(ctx context.Context, args ...string) error {
	return r.state().Cmd(ctx, args...)
}

// exitResult tells the process's exit status from a failure of runc itself:
// runc exits with the container's status and logs errors only for its own
// failures.
func exitResult(waitErr error, logPath string) error {
	if waitErr == nil {
		return nil
	}
	var ee *exec.ExitError
	if !errors.As(waitErr, &ee) || ee.ExitCode() < 0 {
		return fmt.Errorf("running runc: %w", waitErr)
	}
	if msg := runcError(logPath); msg != "" {
		return fmt.Errorf("running container: %s", msg)
	}
	return &ExitError{Code: ee.ExitCode()}
}

// runcError returns the last error-level message in runc's JSON log.
func runcError(logPath string) string {
	f, err := os.Open(logPath)
	if err != nil {
		return ""
	}
	defer f.Close()
	var last string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var entry struct{ Level, Msg string }
		if json.Unmarshal(sc.Bytes(), &entry) == nil && (entry.Level == "error" || entry.Level == "fatal") {
			last = entry.Msg
		}
	}
	return last
}
