package cli

import (
	"context"
	"errors"
	"os"

	"github.com/spf13/cobra"

	"github.com/kiln-build/kiln/internal/progress"
	"github.com/kiln-build/kiln/internal/registry"
)

// transfer runs a pull or push as one progress step on standard error with
// its byte count: live on a terminal, a line a second otherwise.
func transfer(cmd *cobra.Command, name string, run func(ctx context.Context) error) error {
	mode := "plain"
	if isTerminal(os.Stderr) {
		mode = "tty"
	}
	rep, err := progress.New(cmd.ErrOrStderr(), mode)
	if err != nil {
		return err
	}
	v := rep.Start(name)
	ctx := registry.WithProgress(cmd.Context(), func(total int64) registry.ByteCounter { return v.NewCounter(total) })
	err = run(ctx)
	v.Done(err) // prints the error on the step's line
	rep.Close()
	if err != nil && !errors.Is(err, context.Canceled) {
		return reported{err}
	}
	return err
}
