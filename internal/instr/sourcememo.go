package instr

import (
	"context"
	"encoding/json"
	"fmt"

	digest "github.com/opencontainers/go-digest"

	"github.com/kiln-build/kiln/internal/fshash"
	"github.com/kiln-build/kiln/internal/image"
)

// A source memo remembers the content digest of COPY --from sources in an
// image: a pure function of the image's layers (their diff IDs) and the
// selection, so a rebuild, or a build that took the stage from a remote
// cache, keys the COPY without mounting the stage or fetching its layers.

// sourceMemoKey names one selection in one filesystem.
func sourceMemoKey(img *image.Image, spec *copySpec) digest.Digest {
	data, _ := json.Marshal(struct {
		V        int             `json:"v"`
		Layers   []digest.Digest `json:"layers"`
		Srcs     []string        `json:"srcs"`
		Excludes []string        `json:"excludes,omitempty"`
	}{1, layerIDs(img), spec.srcs, spec.excludes})
	return digest.FromBytes(data)
}

// memoSource answers from a memo; ok is false when there is none (or
// --no-cache asks not to trust stored results).
func (e *Env) memoSource(key digest.Digest) (digest.Digest, bool) {
	if e.NoCache {
		return "", false
	}
	if data, err := e.Store.ReadMeta("src-" + key.Encoded()); err == nil && data != nil {
		if d, err := digest.Parse(string(data)); err == nil {
			return d, true
		}
	}
	for _, r := range e.Remote {
		if d, ok := r.LookupSource(key); ok {
			return d, true
		}
	}
	return "", false
}

func (e *Env) rememberSource(key, d digest.Digest) {
	// Best effort: a lost memo only costs hashing again.
	_ = e.Store.WriteMeta("src-"+key.Encoded(), []byte(d.String()))
	if e.RecordSource != nil {
		e.RecordSource(key, d)
	}
}

// imageSource keys COPY --from an image by its memo when there is one and
// mounts the image only when the step runs; otherwise it mounts and hashes.
func (e *Env) imageSource(ctx context.Context, from string, img *image.Image, spec *copySpec) (Source, error) {
	key := sourceMemoKey(img, spec)
	mount, release := e.imageMount(img)
	if d, ok := e.memoSource(key); ok {
		if e.RecordSource != nil { // a warm build's --cache-to carries it too
			e.RecordSource(key, d)
		}
		return Source{Digest: d, Root: mount, Release: release}, nil
	}
	root, err := mount(ctx)
	if err != nil {
		release()
		return Source{}, err
	}
	d, err := fshash.Paths(ctx, root, spec.srcs, fshash.Options{FollowLinks: true, ExcludePatterns: spec.excludes})
	if err != nil {
		release()
		return Source{}, fmt.Errorf("COPY --from=%s: %w", from, err)
	}
	e.rememberSource(key, d)
	return Source{Digest: d, Root: mount, Release: release}, nil
}
