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
// build failed, 2 bad usage, 130 interrupted (Ctrl-C or SIGTERM). after,
// if set, runs once the command has returned (profiling hooks).
func Main(stderr io.Writer, after func()) int {
	isolation.InitChild()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := New().ExecuteContext(ctx)
	interrupted := ctx.Err() != nil
	stop()
	if after != nil {
		after()
	}
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
