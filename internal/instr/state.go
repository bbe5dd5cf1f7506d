// Package instr gives each Dockerfile instruction its effect on a stage:
// metadata instructions change the image config; RUN, COPY and WORKDIR
// change the filesystem through a cached, committed layer. One file per
// instruction, dispatched from one type switch (dispatch.go).
package instr

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	digest "github.com/opencontainers/go-digest"

	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/scope"
)

// State is a stage while it is being built.
type State struct {
	Stage    string // stage name or index, for progress and errors
	Img      *image.Image
	Key      digest.Digest // cache key of the filesystem so far
	Args     scope.Args    // ARGs declared in this stage, in order, with their values
	Platform string        // os/arch[/variant], part of every key
	Arch     string        // architecture the stage's RUN steps execute as
	Step     int           // 1-based position of the instruction being run
	Steps    int           // number of instructions of the stage (FROM included)
	Escape   rune
	File     string // Dockerfile name, for errors

	Globals map[string]string // global and predefined ARG values a stage ARG may inherit
	cmdSet  bool              // this stage has its own CMD
	files   map[string]string // files the current COPY hashed (--explain-cache)
	// From resolves a COPY --from / --mount from= name to its filesystem.
	From func(ctx context.Context, name string) (*Named, error)
}

// ExpandEnv is the environment used to expand $VARs in an instruction
// (scope.Args.ExpandEnv).
func (s *State) ExpandEnv() []string { return s.Args.ExpandEnv(s.Img.Env()) }

// RunEnv is the environment of a RUN process (scope.Args.RunEnv).
func (s *State) RunEnv() []string { return s.Args.RunEnv(s.Img.Env()) }

// expander returns the word expander for the instruction's Expand method.
func (s *State) expander() instructions.SingleWordExpander {
	lex := shell.NewLex(s.Escape)
	env := shell.EnvsFromSlice(s.ExpandEnv())
	return func(word string) (string, error) {
		out, _, err := lex.ProcessWord(word, env)
		return out, err
	}
}

// WorkDir is the current working directory, "/" when unset.
func (s *State) WorkDir() string {
	if wd := s.Img.Config.Config.WorkingDir; wd != "" {
		return wd
	}
	return "/"
}

// resolvePath makes p absolute against the working directory, keeping a
// trailing slash, which tells COPY the destination is a directory.
func (s *State) resolvePath(p string) string {
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

// prefix is the "[stage 2/5]" label of progress lines.
func (s *State) prefix() string {
	return fmt.Sprintf("[%s %d/%d]", s.Stage, s.Step, s.Steps)
}
