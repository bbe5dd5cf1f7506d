package build

import (
	"context"

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/instr"
	"github.com/kiln-build/kiln/internal/registry"
	"github.com/kiln-build/kiln/internal/remotecache"
	"github.com/kiln-build/kiln/internal/solver"
)

// cacheEntries is the session's step log (solver.Records) in the form
// --cache-to writes.
func cacheEntries(s *solver.Solver) []remotecache.Entry {
	var out []remotecache.Entry
	for _, r := range s.Records() {
		out = append(out, remotecache.Entry{Key: r.Key, Layer: r.Layer, Content: r.Content})
	}
	return out
}

// embedInlineCache gives a committed image (manifest desc) the inline cache
// --cache-to type=inline asks for; without it the image is left as it is.
func embedInlineCache(env *instr.Env, specs []remotecache.Spec, desc ocispec.Descriptor) (ocispec.Descriptor, error) {
	inline := false
	for _, sp := range specs {
		inline = inline || sp.Type == "inline"
	}
	if !inline {
		return desc, nil
	}
	return remotecache.EmbedInline(env.Store, desc, cacheEntries(env.Solver))
}

// importCaches reads every --cache-from; one that cannot be read is a
// warning (the first build has none yet), as in buildx.
func importCaches(ctx context.Context, env *instr.Env, client *registry.Client, specs []remotecache.Spec) {
	for _, sp := range specs {
		if sp.Type == "inline" {
			env.Progress.Warn("--cache-from type=inline: an inline cache is read from its image, with type=registry,ref=IMAGE")
			continue
		}
		src, err := remotecache.Import(ctx, env.Store, client, sp)
		if err != nil {
			env.Progress.Warn("importing cache %s: %v", sp.Location(), err)
			continue
		}
		env.Solver.AddRemote(src)
	}
}

// exportCaches writes every --cache-to: mode=min keeps the steps whose
// layers are in the result, mode=max every step of every stage. An inline
// cache is already in the image (finish, embedInlineCache).
func exportCaches(ctx context.Context, env *instr.Env, client *registry.Client, specs []remotecache.Spec, images []*image.Image) error {
	final := map[digest.Digest]bool{}
	for _, img := range images {
		for _, l := range img.Layers {
			final[l.Digest] = true
		}
	}
	log := cacheEntries(env.Solver)
	for _, sp := range specs {
		if sp.Type == "inline" {
			continue
		}
		var entries []remotecache.Entry
		for _, e := range log {
			if sp.Mode == "max" || e.Layer == nil || final[e.Layer.Digest] {
				entries = append(entries, e)
			}
		}
		for _, e := range entries {
			if e.Layer != nil {
				if err := env.Solver.EnsureBlob(ctx, *e.Layer); err != nil {
					return err
				}
			}
		}
		v := env.Progress.Start("exporting cache to " + sp.Location())
		err := remotecache.Export(ctx, env.Store, client, sp, entries)
		v.Done(err)
		if err != nil && sp.IgnoreError {
			env.Progress.Warn("exporting cache to %s (ignore-error=true): %v", sp.Location(), err)
		} else if err != nil {
			return err
		}
	}
	return nil
}
