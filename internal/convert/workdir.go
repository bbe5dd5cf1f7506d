package convert

import (
	"path"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// Workdir is WORKDIR's config part: the working directory, relative to the
// current one. mkdir says a step must create it (owned by the USER), as
// BuildKit does; "/" needs none and only adds history.
//
// As BuildKit's NormalizeWorkdir: a relative path is joined to the current
// one (and so cleaned), an absolute one is kept as written, trailing slash
// included, in the config and the history. A Windows target's config has
// backslashes; the history and dir keep the Dockerfile's slashes.
func Workdir(s *State, c *instructions.WorkdirCommand) (dir string, mkdir bool) {
	wd := c.Path
	if !path.IsAbs(wd) {
		wd = path.Join(s.WorkDir(), wd)
	}
	s.Img.Config.Config.WorkingDir = wd
	if s.Img.Config.OS == "windows" {
		s.Img.Config.Config.WorkingDir = strings.ReplaceAll(wd, "/", `\`)
	}
	if wd == "/" {
		s.Img.AddHistory("WORKDIR "+wd, s.Epoch)
		return wd, false
	}
	return wd, true
}
