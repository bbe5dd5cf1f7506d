package cli

import (
	"context"
	"fmt"
	"os"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/spf13/cobra"

	"github.com/kiln-build/kiln/internal/config"
	"github.com/kiln-build/kiln/internal/exporter"
	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/registry"
	"github.com/kiln-build/kiln/internal/store"
)

func newClient(g *globalFlags) (*registry.Client, error) {
	cfg, err := config.Load(g.config)
	if err != nil {
		return nil, err
	}
	return registry.New(cfg), nil
}

func newPullCmd(g *globalFlags) *cobra.Command {
	var platform string
	cmd := &cobra.Command{
		Use:   "pull NAME",
		Short: "Pull an image from its registry into the store",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := platformFlag(platform)
			if err != nil {
				return err
			}
			s, err := openStore(g)
			if err != nil {
				return err
			}
			c, err := newClient(g)
			if err != nil {
				return err
			}
			var desc ocispec.Descriptor
			err = transfer(cmd, "pulling "+args[0], func(ctx context.Context) (err error) {
				desc, err = c.Pull(ctx, s, args[0], p)
				return err
			})
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), desc.Digest)
			return nil
		},
	}
	cmd.Flags().StringVar(&platform, "platform", "", "platform to pull (default: this machine's)")
	return cmd
}

func newPushCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "push NAME [DESTINATION]",
		Short: "Push an image of the store to a registry",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, r, err := lookupImage(g, args[0])
			if err != nil {
				return err
			}
			dest := args[0]
			if len(args) == 2 {
				dest = args[1]
			}
			c, err := newClient(g)
			if err != nil {
				return err
			}
			return transfer(cmd, "pushing "+dest, func(ctx context.Context) error {
				return c.Push(ctx, s, r.Descriptor, dest)
			})
		},
	}
}

func newSaveCmd(g *globalFlags) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "save NAME... -o FILE",
		Short: "Write images of the store as an OCI image layout tar",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := openStore(g)
			if err != nil {
				return err
			}
			var named []image.Named
			for _, a := range args {
				r, err := s.Lookup(a)
				if err != nil {
					return err
				}
				named = append(named, image.Named{Name: store.FullName(r.Name), Descriptor: r.Descriptor})
			}
			if output == "" || output == "-" {
				return image.WriteOCITar(cmd.OutOrStdout(), s, named, epochZero)
			}
			return exporter.WriteFile(output, func(f *os.File) error {
				return image.WriteOCITar(f, s, named, epochZero)
			})
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "file to write (default: standard output)")
	return cmd
}
