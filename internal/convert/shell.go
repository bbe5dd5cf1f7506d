package convert

import (
	"fmt"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// shellInstr is SHELL: the prefix of later shell-form RUN, CMD, ENTRYPOINT.
func shellInstr(s *State, c *instructions.ShellCommand) {
	s.Img.Config.Config.Shell = append([]string(nil), c.Shell...)
	s.Img.AddHistory(fmt.Sprintf("SHELL %v", c.Shell), s.Epoch)
}
