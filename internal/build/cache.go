package build

import (
	"context"
	"sync"

	digest "github.com/opencontainers/go-digest"

	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/instr"
	"github.com/kiln-build/kiln/internal/registry"
	"github.com/kiln-build/kiln/internal/remotecache"
)

// stepLog collects every step of the build for --cache-to.
type stepLog struct {
	mu      sync.Mutex
	entries []remotecache.Entry
	seen    map[digest.Digest]bool
}

func (l *stepLog) record(key digest.Digest, layer *image.Layer) {
	l.add(remotecache.Entry{Key: key, Layer: layer})
}

// recordSource keeps a source memo (COPY --from content digest) for --cache-to.
func (l *stepLog) recordSource(key, content digest.Digest) {
	l.add(remotecache.Entry{Key: key, Content: content})
}

func (l *stepLog) add(e remotecache.Entry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen[e.Key] {
		return
	}
	l.seen[e.Key] = true
	l.entries = append(l.entries, e)
}

// importCaches reads every --cache-from; one that cannot be read is a
// warning (the first build has none yet), as in buildx.
func importCaches(ctx context.Context, env *instr.Env, client *registry.Client, specs []remotecache.Spec) {
	for _, sp := range specs {
		src, err := remotecache.Import(ctx, env.Store, client, sp)
		if err != nil {
			env.Progress.Warn("importing cache %s%s: %v", sp.Ref, sp.Dir, err)
			continue
		}
		env.Remote = append(env.Remote, src)
	}
}

// exportCaches writes every --cache-to: mode=min keeps the steps whose
// layers are in the result, mode=max every step of every stage.
func exportCaches(ctx context.Context, env *instr.Env, client *registry.Client, specs []remotecache.Spec, log *stepLog, images []*image.Image) error {
	final := map[digest.Digest]bool{}
	for _, img := range images {
		for _, l := range img.Layers {
			final[l.Digest] = true
		}
	}
	for _, sp := range specs {
		var entries []remotecache.Entry
		for _, e := range log.entries {
			if sp.Mode == "max" || e.Layer == nil || final[e.Layer.Digest] {
				entries = append(entries, e)
			}
		}
		for _, e := range entries {
			if e.Layer != nil {
				if err := env.EnsureBlob(ctx, *e.Layer); err != nil {
					return err
				}
			}
		}
		v := env.Progress.Start("exporting cache to " + sp.Ref + sp.Dir)
		err := remotecache.Export(ctx, env.Store, client, sp, entries)
		v.Done(err)
		if err != nil {
			return err
		}
	}
	return nil
}
