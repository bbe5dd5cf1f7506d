package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/containerd/platforms"
	"github.com/docker/go-units"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/spf13/cobra"

	"github.com/kiln-build/kiln/internal/attest"
	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/store"
)

func newInspectCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "inspect IMAGE",
		Short: "Show an image's config, platforms and layers (with the instruction that made each)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, r, err := lookupImage(g, args[0])
			if err != nil {
				return err
			}
			descs, atts, err := platformManifests(s, r.Descriptor)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "Name:   %s\nDigest: %s\n", store.FamiliarName(r.Name), r.Descriptor.Digest)
			for _, d := range descs {
				img, _, err := image.Load(s, d, *d.Platform)
				if err != nil {
					return err
				}
				printImage(w, img)
			}
			return printAttestations(w, s, atts)
		},
	}
}

// platformManifests lists the manifests of an index, or the manifest
// itself, and apart from them the index's attestation manifests.
func platformManifests(s *store.Store, d ocispec.Descriptor) (images, attestations []ocispec.Descriptor, err error) {
	if d.MediaType != ocispec.MediaTypeImageIndex {
		if d.Platform == nil {
			p := platforms.DefaultSpec()
			d.Platform = &p
		}
		return []ocispec.Descriptor{d}, nil, nil
	}
	data, err := s.ReadBlob(d.Digest)
	if err != nil {
		return nil, nil, err
	}
	var idx ocispec.Index
	if err := json.Unmarshal(data, &idx); err != nil {
		return nil, nil, err
	}
	for _, m := range idx.Manifests {
		switch {
		case !s.HasBlob(m.Digest):
		case attest.IsAttestation(m):
			attestations = append(attestations, m)
		case m.Platform != nil:
			images = append(images, m)
		}
	}
	return images, attestations, nil
}

// printAttestations lists each attestation manifest's statements: what
// they are about and their predicate type.
func printAttestations(w io.Writer, s *store.Store, atts []ocispec.Descriptor) error {
	if len(atts) == 0 {
		return nil
	}
	fmt.Fprintln(w, "\nAttestations:")
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "FOR MANIFEST\tPREDICATE TYPE\tSIZE")
	for _, a := range atts {
		stmts, err := attest.Statements(s, a)
		if err != nil {
			return err
		}
		for _, st := range stmts {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", a.Annotations[attest.AnnotationRefDigest], st.PredicateType, units.HumanSize(float64(len(st.Predicate))))
		}
	}
	return tw.Flush()
}

func printImage(w io.Writer, img *image.Image) {
	c := img.Config
	fmt.Fprintf(w, "\nPlatform: %s\n", platforms.Format(c.Platform))
	cfg, _ := json.MarshalIndent(c.Config, "", "  ")
	fmt.Fprintf(w, "Config: %s\n", cfg)
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "LAYER\tSIZE\tCREATED BY")
	n := 0
	var total int64
	for _, h := range c.History {
		if h.EmptyLayer {
			continue
		}
		if n < len(img.Layers) {
			l := img.Layers[n]
			total += l.Size
			fmt.Fprintf(tw, "%s\t%s\t%s\n", l.Digest.Encoded()[:12], units.HumanSize(float64(l.Size)), h.CreatedBy)
		}
		n++
	}
	tw.Flush()
	fmt.Fprintf(w, "Total: %s in %d layers\n", units.HumanSize(float64(total)), len(img.Layers))
}
