package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/spf13/cobra"

	"github.com/kiln-build/kiln/internal/exporter"
	"github.com/kiln-build/kiln/internal/registry"
)

func newImagetoolsCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "imagetools", Short: "Work with images in a registry, without pulling them (as buildx imagetools)"}
	cmd.AddCommand(newImagetoolsCreateCmd(g), newImagetoolsInspectCmd(g))
	return cmd
}

type imagetoolsCreateFlags struct {
	tags, files, annotations []string
	appendTo, dryRun         bool
	preferIndex              bool
	metadataFile             string
}

func newImagetoolsCreateCmd(g *globalFlags) *cobra.Command {
	f := &imagetoolsCreateFlags{}
	cmd := &cobra.Command{
		Use:   "create [-t NAME]... [--append] [--annotation A]... [--dry-run] [-f FILE]... [SOURCE...]",
		Short: "Stitch manifests and indexes already in a registry into one index, moving manifests only",
		Long: `A SOURCE is an image reference (tag or digest), a digest (in the one
repository the command names), or a JSON descriptor; -f reads one from a file.
Manifests in another repository of the registry are copied by digest with
cross-repository blob mounts. As buildx imagetools create.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runImagetoolsCreate(cmd, g, f, args)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVarP(&f.tags, "tag", "t", nil, "name of the new image (repeatable)")
	fl.StringArrayVarP(&f.files, "file", "f", nil, "read a source descriptor from a file (repeatable)")
	fl.StringArrayVar(&f.annotations, "annotation", nil, "index:KEY=VALUE or manifest-descriptor[[PLATFORM]]:KEY=VALUE (repeatable)")
	fl.BoolVar(&f.appendTo, "append", false, "add the sources to the index the first tag names")
	fl.BoolVar(&f.dryRun, "dry-run", false, "print the index instead of pushing it")
	fl.BoolVar(&f.preferIndex, "prefer-index", true, "with one image manifest as the only source, make an index of it (false: copy the manifest)")
	fl.StringVar(&f.metadataFile, "metadata-file", "", "write the result's descriptor and names as JSON")
	return cmd
}

func runImagetoolsCreate(cmd *cobra.Command, g *globalFlags, f *imagetoolsCreateFlags, args []string) error {
	o, err := combineOptions(f, args)
	if err != nil {
		return usageError{err}
	}
	c, err := newClient(g)
	if err != nil {
		return err
	}
	comb, err := c.Combine(cmd.Context(), o)
	if err != nil {
		return err
	}
	if f.dryRun {
		fmt.Fprintf(cmd.OutOrStdout(), "%s\n", comb.Raw)
		return nil
	}
	err = transfer(cmd, "pushing "+strings.Join(f.tags, ", "), func(ctx context.Context) error {
		return c.PushCombined(ctx, comb, f.tags)
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(cmd.OutOrStdout(), comb.Desc.Digest)
	if f.metadataFile == "" {
		return nil
	}
	return writeJSONFile(f.metadataFile, map[string]any{
		"containerimage.descriptor": comb.Desc,
		"image.name":                strings.Join(repoNames(f.tags), ","),
	})
}

// combineOptions reads the sources as buildx does: -f files first, then
// the arguments, after the first tag's image with --append. A source with
// no repository (a digest, a descriptor) is in the one repository the
// command names, or an error.
func combineOptions(f *imagetoolsCreateFlags, args []string) (registry.CombineOptions, error) {
	o := registry.CombineOptions{PreferIndex: f.preferIndex}
	if len(args) == 0 && len(f.files) == 0 {
		return o, errors.New("no sources specified")
	}
	if !f.dryRun && len(f.tags) == 0 {
		return o, errors.New("can't push with no tags specified, please set --tag or --dry-run")
	}
	var raw []string
	for _, file := range f.files {
		data, err := os.ReadFile(file)
		if err != nil {
			return o, err
		}
		raw = append(raw, strings.TrimSpace(string(data)))
	}
	raw = append(raw, args...)
	if f.appendTo && len(f.tags) > 0 {
		raw = append([]string{f.tags[0]}, raw...)
	}
	repos := map[string]bool{}
	for _, t := range repoNames(f.tags) {
		repos[t] = true
	}
	var defaultRepo string
	for _, s := range raw {
		src, err := parseImagetoolsSource(s)
		if err != nil {
			return o, err
		}
		if src.Ref != "" {
			r, _ := name.ParseReference(src.Ref, name.WeakValidation)
			repos[r.Context().Name()] = true
			if defaultRepo == "" {
				defaultRepo = r.Context().Name()
			}
		}
		o.Sources = append(o.Sources, src)
	}
	if defaultRepo == "" && len(f.tags) > 0 {
		defaultRepo = repoNames(f.tags[:1])[0]
	}
	for i, src := range o.Sources {
		if src.Ref != "" {
			continue
		}
		if len(repos) != 1 {
			return o, fmt.Errorf("multiple repositories specified, cannot infer repository for %q", raw[i])
		}
		o.Sources[i].Ref = defaultRepo
	}
	var err error
	o.IndexAnnotations, o.DescriptorAnnotations, err = imagetoolsAnnotations(f.annotations)
	return o, err
}

// parseImagetoolsSource reads a digest, an image reference or a JSON
// descriptor.
func parseImagetoolsSource(s string) (registry.IndexSource, error) {
	if d, err := digest.Parse(s); err == nil {
		return registry.IndexSource{Desc: ocispec.Descriptor{Digest: d}}, nil
	} else if strings.HasPrefix(s, "sha256") {
		return registry.IndexSource{}, fmt.Errorf("source %q: %w", s, err)
	}
	if strings.HasPrefix(s, "{") {
		var d struct {
			SchemaVersion int `json:"schemaVersion"`
			ocispec.Descriptor
		}
		if err := json.Unmarshal([]byte(s), &d); err != nil {
			return registry.IndexSource{}, fmt.Errorf("source descriptor %s: %w", s, err)
		}
		if d.SchemaVersion != 0 {
			return registry.IndexSource{}, fmt.Errorf("source %s: expected an OCI content descriptor, got a manifest or index", s)
		}
		if err := d.Digest.Validate(); err != nil {
			return registry.IndexSource{}, fmt.Errorf("source descriptor %s: digest: %w", s, err)
		}
		return registry.IndexSource{Desc: d.Descriptor}, nil
	}
	if _, err := name.ParseReference(s, name.WeakValidation); err != nil {
		return registry.IndexSource{}, fmt.Errorf("source %q: valid sources are digests, references and descriptors: %w", s, err)
	}
	return registry.IndexSource{Ref: s}, nil
}

// imagetoolsAnnotations sorts --annotation values into the index's own
// and its entries'; an image manifest's annotations would change the image,
// which imagetools does not rewrite (buildx: "not supported yet").
func imagetoolsAnnotations(in []string) (map[string]string, []registry.DescriptorAnnotation, error) {
	var index map[string]string
	var descs []registry.DescriptorAnnotation
	for _, s := range in {
		a, err := exporter.ParseAnnotation(s)
		if err != nil {
			return nil, nil, err
		}
		for _, t := range a.Types {
			switch t {
			case "index":
				if a.Platform != nil {
					return nil, nil, fmt.Errorf("--annotation %q: an index annotation takes no platform", s)
				}
				if index == nil {
					index = map[string]string{}
				}
				index[a.Key] = a.Value
			case "manifest-descriptor":
				descs = append(descs, registry.DescriptorAnnotation{Platform: a.Platform, Key: a.Key, Value: a.Value})
			default:
				return nil, nil, fmt.Errorf("--annotation %q: imagetools create sets index: and manifest-descriptor: annotations; %s annotations would change the images, which it does not rewrite", s, t)
			}
		}
	}
	return index, descs, nil
}

// repoNames are the repositories of image names, sorted, each once.
func repoNames(refs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range refs {
		ref, err := name.ParseReference(r, name.WeakValidation)
		if err != nil || seen[ref.Context().Name()] {
			continue
		}
		seen[ref.Context().Name()] = true
		out = append(out, ref.Context().Name())
	}
	sort.Strings(out)
	return out
}

func writeJSONFile(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}
