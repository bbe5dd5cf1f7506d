package convert

import (
	"fmt"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// user is USER, as written: RUN resolves it in the filesystem.
func user(s *State, c *instructions.UserCommand) {
	s.Img.Config.Config.User = c.User
	s.Img.AddHistory(fmt.Sprintf("USER %v", c.User), s.Epoch)
}
