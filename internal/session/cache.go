package session

import (
	"context"

	digest "github.com/opencontainers/go-digest"

	"github.com/kiln-build/kiln/internal/exporter"
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

// inlineCache is the build's cache records for the result's manifests
// when --cache-to type=inline asks for them; nil otherwise.
func inlineCache(w *instr.Worker, specs []remotecache.Spec) *exporter.InlineCache {
	for _, sp := range specs {
		if sp.Type == "inline" {
			return &exporter.InlineCache{Entries: cacheEntries(w.Solver)}
		}
	}
	return nil
}

// importCaches reads every --cache-from; one that cannot be read is a
// warning (the first build has none yet), as in buildx.
func importCaches(ctx context.Context, w *instr.Worker, client *registry.Client, specs []remotecache.Spec) {
	for _, sp := range specs {
		if sp.Type == "inline" {
			w.Progress.Warn("--cache-from type=inline: an inline cache is read from its image, with type=registry,ref=IMAGE")
			continue
		}
		src, err := remotecache.Import(ctx, w.Store, client, sp)
		if err != nil {
			w.Progress.Warn("importing cache %s: %v", sp.Location(), err)
			continue
		}
		w.Solver.AddRemote(src)
		if h, ok := w.Snap.(*mountHook); ok {
			h.addSource(src)
		}
	}
}

// exportCaches writes every --cache-to: mode=min keeps the steps whose
// layers are in the result, mode=max every step of every stage. An inline
// cache is already in the image (finish, inlineCache).
func exportCaches(ctx context.Context, w *instr.Worker, client *registry.Client, specs []remotecache.Spec, images []*image.Image) error {
	final := map[digest.Digest]bool{}
	for _, img := range images {
		for _, l := range img.Layers {
			final[l.Digest] = true
		}
	}
	log := cacheEntries(w.Solver)
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
				if err := w.Solver.EnsureBlob(ctx, *e.Layer); err != nil {
					return err
				}
			}
		}
		v := w.Progress.Start("exporting cache to " + sp.Location())
		var mounts []remotecache.Mount
		var err error
		if h, ok := w.Snap.(*mountHook); ok && sp.CacheMounts {
			mounts, err = h.pack(ctx, sp.MountsMaxSize, sp.Location())
		}
		if err == nil {
			err = remotecache.Export(ctx, w.Store, client, sp, entries, mounts...)
		}
		v.Done(err)
		if err != nil && sp.IgnoreError {
			w.Progress.Warn("exporting cache to %s (ignore-error=true): %v", sp.Location(), err)
		} else if err != nil {
			return err
		}
	}
	return nil
}
