package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kiln-build/kiln/internal/executor"
	"github.com/kiln-build/kiln/internal/runimage"
)

func newRunCmd(g *globalFlags) *cobra.Command {
	var network, entrypoint string
	var rm bool
	cmd := &cobra.Command{
		Use:   "run [--rm] IMAGE [COMMAND...]",
		Short: "Run an image of the store once with runc (changes are discarded)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			mode, err := g.requireIsolation(cmd.Context())
			if err != nil {
				return err
			}
			s, err := openStore(g)
			if err != nil {
				return err
			}
			o := runimage.Options{Image: args[0], Args: args[1:], Network: network, Stdout: cmd.OutOrStdout(), Stderr: cmd.ErrOrStderr(), Isolation: mode}
			if entrypoint != "" {
				o.Entrypoint = []string{entrypoint}
			}
			err = runimage.Run(cmd.Context(), s, o)
			var exit *executor.ExitError
			if errors.As(err, &exit) {
				return exitCode{fmt.Errorf("%s exited with code %d", args[0], exit.Code), exit.Code}
			}
			return err
		},
	}
	cmd.Flags().BoolVar(&rm, "rm", true, "remove the container afterwards (always: kiln keeps none)")
	cmd.Flags().StringVar(&network, "network", "default", "network: default, host, none")
	cmd.Flags().StringVar(&entrypoint, "entrypoint", "", "override the image's ENTRYPOINT")
	cmd.Flags().SetInterspersed(false)
	return cmd
}

// exitCode carries a command's own exit status out of kiln.
type exitCode struct {
	error
	code int
}

// ExitCode returns the status kiln should exit with for err, and whether it has one.
func ExitCode(err error) (int, bool) {
	var e exitCode
	if errors.As(err, &e) {
		return e.code, true
	}
	return 0, false
}
