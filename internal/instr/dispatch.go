package instr

import (
	"context"
	"fmt"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"

	"github.com/kiln-build/kiln/internal/plan"
)

// Dispatch runs one instruction of a stage. The command is expanded in place
// against the stage's environment first: each plan has its own copies.
func Dispatch(ctx context.Context, e *Env, s *State, cmd instructions.Command) error {
	if err := plan.ExpandCommand(s.File, s.Escape, cmd, s.ExpandEnv()); err != nil {
		return err
	}
	epoch := e.Epoch
	switch c := cmd.(type) {
	case *instructions.EnvCommand:
		dispatchEnv(s, c, epoch)
	case *instructions.LabelCommand:
		dispatchLabel(s, c, epoch)
	case *instructions.ExposeCommand:
		return dispatchExpose(s, c, epoch)
	case *instructions.VolumeCommand:
		return dispatchVolume(s, c, epoch)
	case *instructions.UserCommand:
		dispatchUser(s, c, epoch)
	case *instructions.CmdCommand:
		dispatchCmd(s, c, epoch)
	case *instructions.EntrypointCommand:
		dispatchEntrypoint(s, c, epoch)
	case *instructions.ShellCommand:
		dispatchShell(s, c, epoch)
	case *instructions.StopSignalCommand:
		dispatchStopSignal(s, c, epoch)
	case *instructions.MaintainerCommand:
		dispatchMaintainer(s, c, epoch)
	case *instructions.HealthCheckCommand:
		dispatchHealthcheck(s, c, epoch)
	case *instructions.OnbuildCommand:
		dispatchOnbuild(s, c)
	case *instructions.ArgCommand:
		return dispatchArg(e, s, c, epoch)
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
	return nil
}
