// Package runimage runs an image of the store once with runc (`kiln run`),
// for a quick check of what a build made. Changes are thrown away.
package runimage

import (
	"context"
	"io"

	"github.com/containerd/platforms"

	"github.com/kiln-build/kiln/internal/executor"
	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/isolation"
	"github.com/kiln-build/kiln/internal/snapshot"
	"github.com/kiln-build/kiln/internal/store"
)

// Options for one run.
type Options struct {
	Image          string
	Args           []string // replaces the image's CMD
	Entrypoint     []string // replaces the image's ENTRYPOINT when set
	Network        string
	Stdout, Stderr io.Writer
	Isolation      isolation.Mode // "" means root
}

// Run starts the image's entrypoint and waits for it.
func Run(ctx context.Context, s *store.Store, o Options) error {
	ref, err := s.Lookup(o.Image)
	if err != nil {
		return err
	}
	img, _, err := image.Load(s, ref.Descriptor, platforms.Normalize(platforms.DefaultSpec()))
	if err != nil {
		return err
	}
	snap := snapshot.NewFor(o.Isolation, s, nil)
	defer snap.Wait() // after Remove: its directories are gone on return
	runner, err := executor.NewRunner(s.RunDir(), snap.Caps())
	if err != nil {
		return err
	}
	defer runner.Wait()
	m, err := snap.Prepare(ctx, img.Layers)
	if err != nil {
		return err
	}
	defer snap.Remove(m)
	cfg := img.Config.Config
	return runner.Run(ctx, executor.Spec{
		ID: "kiln-run", Rootfs: m.Root, Args: command(cfg.Entrypoint, cfg.Cmd, o), Env: cfg.Env,
		Cwd: orRoot(cfg.WorkingDir), User: cfg.User, Network: o.Network,
		Stdout: o.Stdout, Stderr: o.Stderr,
	})
}

// command is ENTRYPOINT + CMD, with the user's overrides, as docker run does.
func command(entrypoint, cmd []string, o Options) []string {
	if len(o.Entrypoint) > 0 {
		entrypoint, cmd = o.Entrypoint, nil
	}
	if len(o.Args) > 0 {
		cmd = o.Args
	}
	return append(append([]string(nil), entrypoint...), cmd...)
}

func orRoot(dir string) string {
	if dir == "" {
		return "/"
	}
	return dir
}
