package instr

import (
	"context"
	"fmt"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"

	"github.com/kiln-build/kiln/internal/convert"
)

// runVertex binds one converted filesystem instruction to I/O (hashing its
// sources, preparing its mounts) and has the solver answer or run it.
func runVertex(ctx context.Context, e *Worker, s *State, v convert.Vertex) error {
	s.name = v.Name
	switch c := v.Cmd.(type) {
	case *instructions.WorkdirCommand:
		return runWorkdir(ctx, e, s, v.Workdir)
	case *instructions.RunCommand:
		return runRun(ctx, e, s, c, *v.Run)
	case *instructions.CopyCommand:
		return runCopy(ctx, e, s, c, *v.Copy)
	case *instructions.AddCommand:
		return runAdd(ctx, e, s, c, *v.Copy)
	default:
		return fmt.Errorf("%s is not supported yet", v.Cmd.Name())
	}
}
