package instr

import (
	"context"
	"encoding/json"
	"fmt"

	digest "github.com/opencontainers/go-digest"

	"github.com/kiln-build/kiln/internal/fshash"
	"github.com/kiln-build/kiln/internal/image"
)

// A source memo (solver.Source) remembers the content digest of COPY --from
// sources in an image: a pure function of the image's layers (their diff
// IDs) and the selection.

// sourceMemoKey names one selection in one filesystem.
func sourceMemoKey(img *image.Image, spec *copySpec) digest.Digest {
	data, _ := json.Marshal(struct {
		V        int             `json:"v"`
		Layers   []digest.Digest `json:"layers"`
		Srcs     []string        `json:"srcs"`
		Excludes []string        `json:"excludes,omitempty"`
	}{1, layerIDs(img), spec.Srcs, spec.Excludes})
	return digest.FromBytes(data)
}

// imageSource keys COPY --from an image by its memo when there is one and
// mounts the image only when the step runs; otherwise it mounts and hashes.
func (e *Worker) imageSource(ctx context.Context, from string, img *image.Image, spec *copySpec) (Source, error) {
	key := sourceMemoKey(img, spec)
	mount, release := e.imageMount(img)
	if d, ok := e.Solver.Source(key); ok {
		return Source{Digest: d, Root: mount, Release: release}, nil
	}
	root, err := mount(ctx)
	if err != nil {
		release()
		return Source{}, err
	}
	d, err := fshash.Paths(ctx, root, spec.Srcs, fshash.Options{FollowLinks: true, ExcludePatterns: spec.Excludes})
	if err != nil {
		release()
		return Source{}, fmt.Errorf("COPY --from=%s: %w", from, err)
	}
	e.Solver.RememberSource(key, d)
	return Source{Digest: d, Root: mount, Release: release}, nil
}
