package instr

import (
	"context"
	"fmt"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"

	"github.com/kiln-build/kiln/internal/convert"
)

// Dispatch runs one instruction of a stage. The command (a fresh copy,
// see plan.Instructions) is expanded in place against the stage's
// environment first; the metadata instructions are convert's.
func Dispatch(ctx context.Context, e *Worker, s *State, cmd instructions.Command) error {
	env := s.ExpandEnv()
	if err := convert.Expand(s.File, s.Escape, cmd, env); err != nil {
		return err
	}
	if handled, err := convert.Meta(&s.State, cmd); handled {
		return err
	}
	// Named from the command as written (expansion leaves that text) in
	// the environment before it; RUN's mounts are parsed by now.
	return dispatchFS(ctx, e, s, cmd, convert.StepName(cmd, env, s.Escape))
}

// dispatchFS runs an expanded filesystem instruction, shown as name.
func dispatchFS(ctx context.Context, e *Worker, s *State, cmd instructions.Command, name string) error {
	s.name = name
	switch c := cmd.(type) {
	case *instructions.WorkdirCommand:
		return dispatchWorkdir(ctx, e, s, c)
	case *instructions.RunCommand:
		return dispatchRun(ctx, e, s, c)
	case *instructions.CopyCommand:
		return dispatchCopy(ctx, e, s, c)
	case *instructions.AddCommand:
		return dispatchAdd(ctx, e, s, c)
	default:
		return fmt.Errorf("%s is not supported yet", cmd.Name())
	}
}
