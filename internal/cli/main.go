package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/kiln-build/kiln/internal/isolation"
)

// Main runs kiln's command line and returns the process exit code: 0, 1 a
// build failed, 2 bad usage, 130 interrupted (Ctrl-C, SIGTERM, SIGHUP, or
// standard output or error closed under it: SIGPIPE). Each stops the
// command as Ctrl-C does, so its containers, mounts and secrets are cleaned
// up. after, if set, runs once the command has returned (profiling hooks).
func Main(stderr io.Writer, after func()) int {
	isolation.InitChild()
	setGCPercent()
	ctx, stop := signal.NotifyContext(context.Background(), interruptSignals...)
	ctx, cancel := context.WithCancel(ctx)
	// Asking for SIGPIPE turns a write to a closed stdout or stderr (kiln
	// build 2>&1 | head) from a SIGKILL-like death into an EPIPE error,
	// which stops the command. A broken registry connection also raises
	// SIGPIPE; it is only that connection's error, so the signal itself is
	// drained, and only EPIPE on kiln's own output cancels.
	pipes := make(chan os.Signal, 1)
	signal.Notify(pipes, syscall.SIGPIPE)
	go func() {
		for range pipes {
		}
	}()
	cmd := New()
	cmd.SetOut(&cancelOnEPIPE{w: os.Stdout, cancel: cancel})
	cmd.SetErr(&cancelOnEPIPE{w: stderr, cancel: cancel})
	err := cmd.ExecuteContext(ctx)
	interrupted := ctx.Err() != nil
	stop()
	cancel() // SIGPIPE stays caught: the last message may meet a closed stderr too
	if after != nil {
		after()
	}
	return exitStatus(err, interrupted, stderr)
}

// exitStatus prints err as its kind needs and returns the exit status.
func exitStatus(err error, interrupted bool, stderr io.Writer) int {
	var child childExit
	switch {
	case err == nil:
		return 0
	case errors.As(err, &child):
		return child.code
	case interrupted || errors.Is(err, context.Canceled):
		fmt.Fprintln(stderr, "kiln: interrupted")
		return 130
	case IsUsage(err):
		fmt.Fprintln(stderr, "kiln:", err)
		return 2
	case IsReported(err):
		return 1
	}
	if code, ok := ExitCode(err); ok {
		fmt.Fprintln(stderr, "kiln:", err)
		return code
	}
	fmt.Fprintln(stderr, "ERROR:", err)
	return 1
}

// interruptSignals stop a command as Ctrl-C does.
var interruptSignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP}

// cancelOnEPIPE stops the command once its reader has gone away.
type cancelOnEPIPE struct {
	w      io.Writer
	cancel context.CancelFunc
}

func (c *cancelOnEPIPE) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	if errors.Is(err, syscall.EPIPE) {
		c.cancel()
	}
	return n, err
}
