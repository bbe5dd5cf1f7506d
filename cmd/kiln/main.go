// Command kiln builds OCI images from Dockerfiles without a daemon.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/kiln-build/kiln/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := cli.New().ExecuteContext(ctx)
	interrupted := ctx.Err() != nil
	stop()
	switch {
	case err == nil:
		return
	case interrupted || errors.Is(err, context.Canceled):
		fmt.Fprintln(os.Stderr, "kiln: interrupted")
		os.Exit(130)
	case cli.IsUsage(err):
		fmt.Fprintln(os.Stderr, "kiln:", err)
		os.Exit(2)
	case cli.IsReported(err):
		os.Exit(1)
	}
	if code, ok := cli.ExitCode(err); ok {
		fmt.Fprintln(os.Stderr, "kiln:", err)
		os.Exit(code)
	}
	fmt.Fprintln(os.Stderr, "ERROR:", err)
	os.Exit(1)
}
