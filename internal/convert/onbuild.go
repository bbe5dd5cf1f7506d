package convert

import (
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// onbuild is ONBUILD: a trigger kept in the config for images built FROM
// this one; as in BuildKit, it adds no history.
func onbuild(s *State, c *instructions.OnbuildCommand) {
	s.Img.Config.Config.OnBuild = append(s.Img.Config.Config.OnBuild, c.Expression)
}
