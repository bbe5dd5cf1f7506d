package plan

import (
	"fmt"

	"github.com/kiln-build/kiln/internal/dockerfile"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// lexEnv adapts KEY=VALUE pairs (later wins) to BuildKit's shell.EnvGetter.
func lexEnv(env []string) shell.EnvGetter {
	return shell.EnvsFromSlice(env)
}

// Expand expands $VAR and ${VAR...} in word with env (KEY=VALUE, later
// wins), processing quotes and escapes as a Dockerfile word, with BuildKit's
// shell lexer.
func Expand(word string, escape rune, env []string) (string, error) {
	res, _, err := lex(escape).ProcessWord(word, lexEnv(env))
	return Bounded(res, err)
}

// MaxExpanded bounds a word after expansion. ARGs that each repeat the
// previous one grow tenfold per line (100 MB and 1.4 GB of memory in 36 s);
// no real value comes near: the kernel passes no single argument or
// environment string over 128 KiB to a RUN.
const MaxExpanded = 1 << 20

// Bounded fails a word that expanded past MaxExpanded.
func Bounded(res string, err error) (string, error) {
	if err == nil && len(res) > MaxExpanded {
		return "", fmt.Errorf("variable expansion gives %d bytes, more than the %d allowed", len(res), MaxExpanded)
	}
	return res, err
}

// Expand expands word in env with the Dockerfile's escape character.
func (p *Plan) Expand(word string, env []string) (string, error) {
	return Expand(word, p.Escape, env)
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
			return Bounded(res, err)
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
			return Bounded(res, err)
		})
		if err != nil {
			return dockerfile.ErrorAt(dockerfile.Locate(file, cmd.Location()), err)
		}
	}
	return nil
}
