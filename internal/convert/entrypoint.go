package convert

import (
	"fmt"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// entrypoint is ENTRYPOINT. As in BuildKit, a new ENTRYPOINT resets a CMD
// inherited from the base, but not one this stage set.
func entrypoint(s *State, c *instructions.EntrypointCommand) {
	args := s.ShellForm(c.ShellDependantCmdLine)
	s.Img.Config.Config.Entrypoint = args
	if !s.cmdSet {
		s.Img.Config.Config.Cmd = nil
	}
	s.Img.AddHistory(fmt.Sprintf("ENTRYPOINT %q", args), s.Epoch)
}
