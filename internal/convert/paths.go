package convert

import (
	"path"
	"strings"
)

// WorkDir is the current working directory, "/" when unset.
func (s *State) WorkDir() string {
	if wd := s.Img.Config.Config.WorkingDir; wd != "" {
		if s.Img.Config.OS == "windows" {
			return strings.ReplaceAll(wd, `\`, "/") // the config keeps Windows' separators
		}
		return wd
	}
	return "/"
}

// ResolvePath makes p absolute against the working directory, keeping a
// trailing slash, which tells COPY the destination is a directory.
func (s *State) ResolvePath(p string) string {
	trailing := strings.HasSuffix(p, "/") || p == "." || p == ""
	if !path.IsAbs(p) {
		p = path.Join(s.WorkDir(), p)
	}
	p = path.Clean(p)
	if trailing && p != "/" {
		p += "/"
	}
	return p
}
