package build

import (
	"context"
	"fmt"
	"sync"

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

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

func (l *stepLog) snapshot() []remotecache.Entry {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]remotecache.Entry(nil), l.entries...)
}

// embedInlineCache gives a committed image (manifest desc) the inline cache
// --cache-to type=inline asks for; without it the image is left as it is.
func embedInlineCache(env *instr.Env, specs []remotecache.Spec, desc ocispec.Descriptor, steps *stepLog) (ocispec.Descriptor, error) {
	inline := false
	for _, sp := range specs {
		inline = inline || sp.Type == "inline"
	}
	if !inline {
		return desc, nil
	}
	if steps == nil {
		return desc, fmt.Errorf("--cache-to type=inline: this build keeps no step log")
	}
	return remotecache.EmbedInline(env.Store, desc, steps.snapshot())
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
		if sp.Type == "inline" {
			env.Progress.Warn("--cache-from type=inline: an inline cache is read from its image, with type=registry,ref=IMAGE")
			continue
		}
		src, err := remotecache.Import(ctx, env.Store, client, sp)
		if err != nil {
			env.Progress.Warn("importing cache %s: %v", sp.Location(), err)
			continue
		}
		env.Remote = append(env.Remote, src)
	}
}

// exportCaches writes every --cache-to: mode=min keeps the steps whose
// layers are in the result, mode=max every step of every stage. An inline
// cache is already in the image (finish, embedInlineCache).
func exportCaches(ctx context.Context, env *instr.Env, client *registry.Client, specs []remotecache.Spec, log *stepLog, images []*image.Image) error {
	final := map[digest.Digest]bool{}
	for _, img := range images {
		for _, l := range img.Layers {
			final[l.Digest] = true
		}
	}
	for _, sp := range specs {
		if sp.Type == "inline" {
			continue
		}
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
