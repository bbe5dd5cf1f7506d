package cli

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/containerd/platforms"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/spf13/cobra"

	"github.com/kiln-build/kiln/internal/store"
)

func openStore(g *globalFlags) (*store.Store, error) {
	root := g.root
	if root == "" {
		root = store.DefaultRoot()
	}
	return store.Open(root)
}

// lookupImage opens the store and finds a named image in it.
func lookupImage(g *globalFlags, name string) (*store.Store, store.Ref, error) {
	s, err := openStore(g)
	if err != nil {
		return nil, store.Ref{}, err
	}
	r, err := s.Lookup(name)
	return s, r, err
}

func newImagesCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "images",
		Short: "List the images in the local store",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := openStore(g)
			if err != nil {
				return err
			}
			refs, err := s.Refs()
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 8, 2, ' ', 0)
			fmt.Fprintln(w, "NAME\tDIGEST\tTYPE")
			for _, r := range refs {
				fmt.Fprintf(w, "%s\t%s\t%s\n", store.FamiliarName(r.Name), r.Descriptor.Digest, r.Descriptor.MediaType)
			}
			return w.Flush()
		},
	}
}

func newTagCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "tag SOURCE TARGET",
		Short: "Give an image in the store another name",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, r, err := lookupImage(g, args[0])
			if err != nil {
				return err
			}
			return s.Tag(args[1], r.Descriptor)
		},
	}
}

func newRmiCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "rmi NAME...",
		Short: "Remove image names from the store",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := openStore(g)
			if err != nil {
				return err
			}
			// Every name is checked before any is removed: a typo in the
			// last one must not leave the first ones half-done.
			for _, a := range args {
				if _, err := s.Lookup(a); err != nil {
					return err
				}
			}
			for _, a := range args {
				if err := s.Untag(a); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

var epochZero = time.Unix(0, 0).UTC()

type digestT = digest.Digest

// platformFlag reads a --platform value; empty means this machine's.
func platformFlag(v string) (ocispec.Platform, error) {
	if v == "" {
		return platforms.Normalize(platforms.DefaultSpec()), nil
	}
	p, err := platforms.Parse(v)
	if err != nil {
		return ocispec.Platform{}, usageError{err}
	}
	return platforms.Normalize(p), nil
}
