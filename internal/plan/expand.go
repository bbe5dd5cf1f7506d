package plan

import (
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/shell"

	"github.com/kiln-build/kiln/internal/dockerfile"
	"github.com/kiln-build/kiln/internal/scope"
)

// lexEnv adapts KEY=VALUE pairs (later wins) to BuildKit's shell.EnvGetter.
func lexEnv(env []string) shell.EnvGetter {
	return shell.EnvsFromSlice(env)
}

// Expand expands word in env with the Dockerfile's escape character
// (scope.Expand).
func (p *Plan) Expand(word string, env []string) (string, error) {
	return scope.Expand(word, p.Escape, env)
}

// ExpandCommand expands the variables of cmd in place with env, the stage's
// environment at that command (the base image's Env, then ENV and set ARGs),
// as BuildKit's dispatch does: the Expand method of commands that support
// single-word expansion, then ExpandRaw (COPY/ADD heredoc contents marked
// for expansion) with a '\' lexer that keeps quotes. ARG is left alone:
// its values come from ArgValue. Errors are *dockerfile.LocationError.
// Expand each command once: a second pass would expand the results again.
func (p *Plan) ExpandCommand(cmd instructions.Command, env []string) error {
	return ExpandCommand(p.File, p.Escape, cmd, env)
}

// ExpandCommand is Plan.ExpandCommand for a Dockerfile named file with the
// escape character escape.
func ExpandCommand(file string, escape rune, cmd instructions.Command, env []string) error {
	if _, isArg := cmd.(*instructions.ArgCommand); isArg {
		return nil
	}
	getter := lexEnv(env)
	if ex, ok := cmd.(instructions.SupportsSingleWordExpansion); ok {
		lx := lex(escape)
		err := ex.Expand(func(word string) (string, error) {
			res, _, err := lx.ProcessWord(word, getter)
			return res, err
		})
		if err != nil {
			return dockerfile.ErrorAt(dockerfile.Locate(file, cmd.Location()), err)
		}
	}
	if ex, ok := cmd.(instructions.SupportsSingleWordExpansionRaw); ok {
		lx := shell.NewLex('\\')
		lx.SkipProcessQuotes = true
		err := ex.ExpandRaw(func(word string) (string, error) {
			res, _, err := lx.ProcessWord(word, getter)
			return res, err
		})
		if err != nil {
			return dockerfile.ErrorAt(dockerfile.Locate(file, cmd.Location()), err)
		}
	}
	return nil
}
