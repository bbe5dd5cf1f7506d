package convert

import (
	"path"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// Workdir is WORKDIR's config part: the working directory, relative to the
// current one. mkdir says a step must create it (owned by the USER), as
// BuildKit does; "/" needs none and only adds history.
func Workdir(s *State, c *instructions.WorkdirCommand) (dir string, mkdir bool) {
	wd := c.Path
	if !path.IsAbs(wd) {
		wd = path.Join(s.WorkDir(), wd)
	}
	wd = path.Clean(wd)
	s.Img.Config.Config.WorkingDir = wd
	if wd == "/" {
		s.Img.AddHistory("WORKDIR "+wd, s.Epoch)
		return wd, false
	}
	return wd, true
}
