package convert

import (
	"fmt"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// cmdInstr is CMD, the shell form through the stage's SHELL.
func cmdInstr(s *State, c *instructions.CmdCommand) {
	args := s.ShellForm(c.ShellDependantCmdLine)
	s.Img.Config.Config.Cmd = args
	//lint:ignore SA1019 BuildKit sets the deprecated field on every CMD (Docker's image spec).
	s.Img.Config.Config.ArgsEscaped = true
	s.cmdSet = true
	s.Img.AddHistory(fmt.Sprintf("CMD %q", args), s.Epoch)
}
