package cli

import (
	"fmt"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/spf13/cobra"

	"github.com/kiln-build/kiln/internal/image"
)

func newManifestCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "manifest", Short: "Work with multi-platform image indexes"}
	cmd.AddCommand(&cobra.Command{
		Use:   "create NAME IMAGE...",
		Short: "Make an image index from single-platform images of the store",
		Args:  cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := openStore(g)
			if err != nil {
				return err
			}
			var manifests []ocispec.Descriptor
			for _, a := range args[1:] {
				r, err := s.Lookup(a)
				if err != nil {
					return err
				}
				if r.Descriptor.MediaType != ocispec.MediaTypeImageManifest || r.Descriptor.Platform == nil {
					return fmt.Errorf("%s is not a single-platform image", a)
				}
				manifests = append(manifests, r.Descriptor)
			}
			idx, err := image.CommitIndex(s, manifests)
			if err != nil {
				return err
			}
			if err := s.Tag(args[0], idx); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), idx.Digest)
			return nil
		},
	})
	return cmd
}
