// Package convert gives Dockerfile instructions their meaning without I/O:
// the variables of a command are expanded in the stage's scope (Expand),
// and the metadata instructions change the stage's image config and
// history (Meta), as BuildKit's dockerfile2llb dispatch does. Nothing is
// read or run, so every instruction's meaning is tested without root, one
// _test.go per instruction. RUN, COPY, ADD and WORKDIR's directory become
// the vertices of an op graph, as data (stage.go, graph.go); internal/instr
// binds them to I/O and has the solver run them.
package convert

import (
	"strings"
	"time"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/shell"

	"github.com/kiln-build/kiln/internal/dockerfile"
	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/scope"
)

// State is what a stage's instructions read and change besides its
// filesystem: the image config and history, the ARG scope.
type State struct {
	Img       *image.Image
	Args      scope.Args        // ARGs declared in this stage, in order, with their values
	Globals   map[string]string // global and predefined ARG values a stage ARG may inherit
	BuildArgs map[string]string // --build-arg values
	Escape    rune
	Epoch     time.Time // history entries' time
	cmdSet    bool      // this stage has its own CMD
}

// ExpandEnv is the environment that expands $VARs in an instruction: the
// stage's ARGs overridden by the image's ENV (scope.Args.ExpandEnv).
func (s *State) ExpandEnv() []string { return s.Args.ExpandEnv(s.Img.Env()) }

// RunEnv is the environment of a RUN process (scope.Args.RunEnv).
func (s *State) RunEnv() []string { return s.Args.RunEnv(s.Img.Env()) }

// Meta applies a metadata instruction (everything but RUN, COPY, ADD and
// WORKDIR) to the stage; handled is false for the others.
func Meta(s *State, cmd instructions.Command) (handled bool, err error) {
	return meta(s, cmd, observing{})
}

func meta(s *State, cmd instructions.Command, ob observing) (handled bool, err error) {
	switch c := cmd.(type) {
	case *instructions.EnvCommand:
		env(s, c)
		for _, kv := range c.Env {
			ob.set(kv.Key)
		}
	case *instructions.LabelCommand:
		label(s, c)
	case *instructions.ExposeCommand:
		return true, expose(s, c)
	case *instructions.VolumeCommand:
		return true, volume(s, c)
	case *instructions.UserCommand:
		user(s, c)
	case *instructions.CmdCommand:
		cmdInstr(s, c)
	case *instructions.EntrypointCommand:
		entrypoint(s, c)
	case *instructions.ShellCommand:
		shellInstr(s, c)
	case *instructions.StopSignalCommand:
		stopSignal(s, c)
	case *instructions.MaintainerCommand:
		maintainer(s, c)
	case *instructions.HealthCheckCommand:
		healthcheck(s, c)
	case *instructions.OnbuildCommand:
		onbuild(s, c)
	case *instructions.ArgCommand:
		return true, arg(s, c, ob)
	default:
		return false, nil
	}
	return true, nil
}

// Expand expands the variables of cmd in place with env, the stage's
// environment at that command, as BuildKit's dispatch does: the Expand
// method of commands that support single-word expansion, then ExpandRaw
// (COPY/ADD heredoc contents marked for expansion) with a '\' lexer that
// keeps quotes. ARG is left alone: its values come from scope.ArgValue.
// Errors are *dockerfile.LocationError. Expand each command once: a second
// pass would expand the results again (a solve expands the fresh copies
// plan.Instructions gives).
func Expand(file string, escape rune, cmd instructions.Command, env []string) error {
	return expand(file, escape, cmd, env, observing{})
}

func expand(file string, escape rune, cmd instructions.Command, env []string, ob observing) error {
	if _, isArg := cmd.(*instructions.ArgCommand); isArg {
		return nil
	}
	getter := shell.EnvsFromSlice(env)
	expander := func(lx *shell.Lex) instructions.SingleWordExpander {
		return func(word string) (string, error) {
			res, err := lx.ProcessWordWithMatches(word, getter)
			ob.word(res)
			return scope.Bounded(res.Result, err)
		}
	}
	if ex, ok := cmd.(instructions.SupportsSingleWordExpansion); ok {
		if err := ex.Expand(expander(shell.NewLex(escape))); err != nil {
			return dockerfile.ErrorAt(dockerfile.Locate(file, cmd.Location()), err)
		}
	}
	if ex, ok := cmd.(instructions.SupportsSingleWordExpansionRaw); ok {
		lx := shell.NewLex('\\')
		lx.SkipProcessQuotes = true
		if err := ex.ExpandRaw(expander(lx)); err != nil {
			return dockerfile.ErrorAt(dockerfile.Locate(file, cmd.Location()), err)
		}
	}
	return nil
}

// ShellForm applies the stage's SHELL to a shell-form command line.
func (s *State) ShellForm(cl instructions.ShellDependantCmdLine) []string {
	if !cl.PrependShell {
		return append([]string(nil), cl.CmdLine...)
	}
	return append(s.shell(), strings.Join(cl.CmdLine, " "))
}

func (s *State) shell() []string {
	if sh := s.Img.Config.Config.Shell; len(sh) > 0 {
		return append([]string(nil), sh...)
	}
	return []string{"/bin/sh", "-c"}
}
