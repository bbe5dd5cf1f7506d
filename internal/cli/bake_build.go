package cli

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/kiln-build/kiln/internal/bake"
)

// bakeBuild builds the resolved targets.
func bakeBuild(cmd *cobra.Command, g *globalFlags, f *bakeFlags, res *bake.Resolved) error {
	return errors.New("kiln bake does not build yet: use --print or --list")
}
