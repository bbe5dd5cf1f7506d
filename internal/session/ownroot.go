package session

import (
	"context"
	"os"
	"path/filepath"

	"github.com/kiln-build/kiln/internal/buildctx"
	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/isolation"
	"github.com/kiln-build/kiln/internal/snapshot"
	"github.com/kiln-build/kiln/internal/store"
)

// newSnapshotter returns the build's snapshotter. In container mode the
// steps borrow the container's own root (snapshot.OwnRoot) unless
// isolation.ContainerRunEnv asks for chrooted copies.
func newSnapshotter(o Options, st *store.Store, bctx *buildctx.Context, fetch func(context.Context, image.Layer) error) (snapshot.Waiter, error) {
	if o.Isolation != isolation.Container || !isolation.ContainerOwnRoot() {
		return snapshot.NewFor(o.Isolation, st, fetch), nil
	}
	return snapshot.NewOwnRoot(st, fetch, "/", ownRootKeep(o, bctx))
}

// ownRootKeep are the paths kiln reads or writes while a step may hold the
// container's root: they must stay where they are. The Dockerfile, the
// config and the secrets are read before any step.
func ownRootKeep(o Options, bctx *buildctx.Context) []string {
	keep := []string{bctx.Root}
	if exe, err := os.Executable(); err == nil {
		keep = append(keep, exe)
	}
	if d := os.Getenv("DOCKER_CONFIG"); d != "" {
		keep = append(keep, d)
	} else if home, err := os.UserHomeDir(); err == nil {
		keep = append(keep, filepath.Join(home, ".docker"))
	}
	for _, c := range o.Contexts {
		if filepath.IsAbs(c) {
			keep = append(keep, c)
		}
	}
	for _, out := range o.Outputs {
		if out.Dest != "" && out.Dest != "-" {
			keep = append(keep, out.Dest)
		}
	}
	for _, f := range []string{o.IIDFile, o.MetadataFile} {
		if f != "" {
			keep = append(keep, f)
		}
	}
	for i, k := range keep {
		if abs, err := filepath.Abs(k); err == nil {
			keep[i] = abs
		}
	}
	return keep
}
