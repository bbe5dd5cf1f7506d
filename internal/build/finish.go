package build

import (
	"context"
	"fmt"
	"os"

	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/instr"
	"github.com/kiln-build/kiln/internal/registry"
	"github.com/kiln-build/kiln/internal/store"
)

// finish stamps the final config, commits the image to the store, tags it
// and writes the requested outputs.
func finish(ctx context.Context, o Options, env *instr.Env, img *image.Image, client *registry.Client) (*Result, error) {
	created := env.Epoch
	img.Config.Created = &created
	if len(o.Labels) > 0 {
		if img.Config.Config.Labels == nil {
			img.Config.Config.Labels = map[string]string{}
		}
		for k, v := range o.Labels {
			img.Config.Config.Labels[k] = v
		}
	}
	desc, err := image.Commit(env.Store, img)
	if err != nil {
		return nil, err
	}
	for _, t := range o.Tags {
		if err := env.Store.Tag(t, desc); err != nil {
			return nil, fmt.Errorf("tagging %s: %w", t, err)
		}
	}
	for _, out := range o.Outputs {
		if err := export(ctx, env, client, out, o.Tags, desc, img); err != nil {
			return nil, err
		}
	}
	if o.Push {
		for _, t := range o.Tags {
			if err := push(ctx, env, client, desc, t); err != nil {
				return nil, err
			}
		}
	}
	if o.IIDFile != "" {
		if err := os.WriteFile(o.IIDFile, []byte(desc.Digest.String()), 0o644); err != nil {
			return nil, fmt.Errorf("writing --iidfile: %w", err)
		}
	}
	return &Result{Descriptor: desc, Image: img}, nil
}

// nameOf is the first tag, in familiar form, used as an export's image name.
func nameOf(tags []string, out map[string]string) string {
	if n := out["name"]; n != "" {
		return n
	}
	if len(tags) == 0 {
		return ""
	}
	c, err := store.CanonicalName(tags[0])
	if err != nil {
		return tags[0]
	}
	return store.FullName(c)
}
