package instr

import (
	"strings"
	"time"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// dispatchArg declares stage ARGs. A value comes from --build-arg first,
// then (for `ARG NAME` without a default) from a global ARG or a predefined
// platform ARG, then from the default written here.
func dispatchArg(e *Env, s *State, c *instructions.ArgCommand, epoch time.Time) error {
	expand := s.expander()
	var parts []string
	for _, a := range c.Args {
		value, set := e.BuildArgs[a.Key]
		if !set && a.Value == nil {
			value, set = s.Globals[a.Key]
		}
		if !set && a.Value != nil {
			v, err := expand(*a.Value)
			if err != nil {
				return err
			}
			value, set = v, true
		}
		s.setArg(a.Key, value, !set)
		if set {
			parts = append(parts, a.Key+"="+value)
		} else {
			parts = append(parts, a.Key)
		}
	}
	s.Img.AddHistory("ARG "+strings.Join(parts, " "), epoch)
	return nil
}
