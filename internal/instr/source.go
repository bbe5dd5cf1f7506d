package instr

import (
	"context"
	"sync"

	digest "github.com/opencontainers/go-digest"

	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/snapshot"
)

// A Source is the content a COPY, ADD or bind mount reads: its digest, the
// step's cache key input, known before anything is mounted or fetched; Root
// gives its directory when the step runs (on a cache miss only); Release
// frees what Root made, and must be called once whether Root ran or not.
type Source struct {
	Digest  digest.Digest
	Root    func(ctx context.Context) (string, error)
	Release func()
}

// dirSource is content already on disk, or made on demand by root, that
// nothing needs to release.
func dirSource(d digest.Digest, root func(ctx context.Context) (string, error)) Source {
	return Source{Digest: d, Root: root, Release: func() {}}
}

// imageMount is an image mounted read-only on the first call of root, at
// most once, and unmounted by release; no mount starts after release.
func (e *Worker) imageMount(img *image.Image) (root func(context.Context) (string, error), release func()) {
	var once sync.Once
	var v *snapshot.View
	var mountErr error
	root = func(ctx context.Context) (string, error) {
		once.Do(func() { v, mountErr = e.Snap.View(ctx, img.Layers) })
		if mountErr != nil {
			return "", mountErr
		}
		return v.Root, nil
	}
	release = func() {
		once.Do(func() {})
		if v != nil {
			_ = v.Close()
		}
	}
	return root, release
}
