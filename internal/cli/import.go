package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kiln-build/kiln/internal/imports"
)

func newImportCmd(g *globalFlags) *cobra.Command {
	var tags []string
	var platform, compression string
	cmd := &cobra.Command{
		Use:   "import ROOTFS -t NAME",
		Short: "Make a one-layer base image from a root filesystem tar or directory",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(tags) == 0 {
				return usageError{fmt.Errorf("import needs a name: -t NAME")}
			}
			p, err := platformFlag(platform)
			if err != nil {
				return err
			}
			s, err := openStore(g)
			if err != nil {
				return err
			}
			desc, err := imports.Rootfs(cmd.Context(), s, args[0], imports.Options{Platform: p, Compression: compression})
			if err != nil {
				return err
			}
			for _, t := range tags {
				if err := s.Tag(t, desc); err != nil {
					return err
				}
			}
			fmt.Fprintln(cmd.OutOrStdout(), desc.Digest)
			return nil
		},
	}
	cmd.Flags().StringArrayVarP(&tags, "tag", "t", nil, "name of the image")
	cmd.Flags().StringVar(&platform, "platform", "", "platform of the root filesystem (default: this machine's)")
	cmd.Flags().StringVar(&compression, "compression", "gzip", "layer compression: gzip, zstd, uncompressed")
	return cmd
}
