package convert

import (
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/shell"

	"github.com/kiln-build/kiln/internal/scope"
)

// arg is a stage ARG (scope.ArgValue): a value from --build-arg first,
// then (for `ARG NAME` without a default) from a global ARG or a
// predefined platform ARG, then from the default written here.
func arg(s *State, c *instructions.ArgCommand, ob observing) error {
	lex := shell.NewLex(s.Escape)
	// Each default sees the ARGs before it, those of this instruction
	// too (ARG A=1 B=$A), as BuildKit's dispatchArg.
	expand := func(word string) (string, error) {
		res, err := lex.ProcessWordWithMatches(word, shell.EnvsFromSlice(s.ExpandEnv()))
		ob.word(res)
		return scope.Bounded(res.Result, err)
	}
	var parts []string
	for _, a := range c.Args {
		value, set, err := scope.ArgValue(a, s.BuildArgs, s.Globals, expand)
		if err != nil {
			return err
		}
		s.Args.Set(a.Key, value, !set)
		ob.set(a.Key)
		if set {
			parts = append(parts, a.Key+"="+value)
		} else {
			parts = append(parts, a.Key)
		}
	}
	s.Img.AddHistory("ARG "+strings.Join(parts, " "), s.Epoch)
	return nil
}
