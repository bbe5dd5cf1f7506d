package executor

import (
	"context"

	"github.com/kiln-build/kiln/internal/runcstate"
)

// state is the runner's runc state directory.
func (r *Runner) state() runcstate.Dir {
	return runcstate.Dir{Runc: r.runc, Root: r.root, Bundles: r.bundles}
}

// Cleanup deletes containers and bundles left by runs whose process is gone
// (a crash or SIGKILL of an earlier kiln); see runcstate.Dir.Reap.
// The copying mode has no runc state.
func (r *Runner) Cleanup(ctx context.Context) error {
	if r.caps.Copy {
		return nil
	}
	return r.state().Reap(ctx)
}
