package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"

	"github.com/containerd/platforms"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/spf13/cobra"

	"github.com/kiln-build/kiln/internal/registry"
)

func newImagetoolsInspectCmd(g *globalFlags) *cobra.Command {
	var raw bool
	cmd := &cobra.Command{
		Use:   "inspect NAME [--raw]",
		Short: "Show an image's manifest or index in a registry, without pulling it",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newClient(g)
			if err != nil {
				return err
			}
			m, err := c.GetManifest(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if raw {
				_, err := fmt.Fprintf(cmd.OutOrStdout(), "%s\n", m.Raw)
				return err
			}
			return printRemote(cmd.OutOrStdout(), m)
		},
	}
	cmd.Flags().BoolVar(&raw, "raw", false, "print the manifest or index as the registry has it")
	return cmd
}

// printRemote shows a manifest as buildx imagetools inspect does: name,
// media type, digest and, for an index, each entry with its platform.
func printRemote(w io.Writer, m *registry.Remote) error {
	fmt.Fprintf(w, "Name:      %s\nMediaType: %s\nDigest:    %s\n", m.Ref.Name(), m.Desc.MediaType, m.Desc.Digest)
	var idx ocispec.Index
	if err := json.Unmarshal(m.Raw, &idx); err != nil {
		return fmt.Errorf("decoding %s: %w", m.Ref, err)
	}
	if idx.Manifests == nil {
		return nil
	}
	fmt.Fprintln(w, "\nManifests:")
	for i, d := range idx.Manifests {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "  Name:        %s@%s\n  MediaType:   %s\n", m.Ref.Context().Name(), d.Digest, d.MediaType)
		if d.Platform != nil {
			fmt.Fprintf(w, "  Platform:    %s\n", platforms.Format(*d.Platform))
		}
		if len(d.Annotations) > 0 {
			fmt.Fprintln(w, "  Annotations:")
		}
		for _, k := range slices.Sorted(maps.Keys(d.Annotations)) {
			fmt.Fprintf(w, "    %s: %s\n", k, d.Annotations[k])
		}
	}
	return nil
}
