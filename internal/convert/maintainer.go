package convert

import (
	"fmt"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// maintainer is MAINTAINER: the config's author.
func maintainer(s *State, c *instructions.MaintainerCommand) {
	s.Img.Config.Author = c.Maintainer
	s.Img.AddHistory(fmt.Sprintf("MAINTAINER %v", c.Maintainer), s.Epoch)
}
