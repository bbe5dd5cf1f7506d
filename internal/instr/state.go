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
	"github.com/kiln-build/kiln/internal/plan"
)

// State is a stage while it is being built.
type State struct {
	Stage    string // stage name or index, for progress and errors
	Img      *image.Image
	Key      digest.Digest // cache key of the filesystem so far
	Args     []KV          // ARGs declared in this stage, in order, with their values
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

// KV is one declared build argument. Unset is an ARG declared with no
// default and given no value: as in BuildKit it is written in RUN's history
// (FOO=) but is neither in RUN's environment nor set for $FOO expansion.
//
// OverEnv is an ARG given a value after the last ENV of its name (or over
// the base image's): BuildKit adds it to the state's environment then, so
// RUN and $X expansion see the ARG's value while the image config keeps the
// ENV's; a later ENV of the name wins again.
type KV struct {
	Key, Value string
	Unset      bool
	OverEnv    bool
}

// ExpandEnv is the environment used to expand $VARs in an instruction: the
// stage's ARGs overridden by the image's ENV, as in BuildKit.
func (s *State) ExpandEnv() []string {
	env := make([]string, 0, len(s.Args)+len(s.Img.Env()))
	for _, a := range s.Args {
		if !a.Unset && !a.OverEnv {
			env = append(env, a.Key+"="+a.Value)
		}
	}
	env = append(env, s.Img.Env()...)
	for _, a := range s.Args {
		if !a.Unset && a.OverEnv {
			env = append(env, a.Key+"="+a.Value) // later entries win
		}
	}
	return env
}

// RunEnv is the environment of a RUN process: the image's ENV plus the ARGs
// (ENV wins for a name that is both).
func (s *State) RunEnv() []string {
	env := append([]string(nil), s.Img.Env()...)
	at := map[string]int{}
	for i, e := range env {
		k, _, _ := strings.Cut(e, "=")
		at[k] = i
	}
	for _, a := range s.Args {
		switch i, ok := at[a.Key]; {
		case a.Unset:
		case ok && a.OverEnv:
			env[i] = a.Key + "=" + a.Value
		case !ok:
			env = append(env, a.Key+"="+a.Value)
		}
	}
	return env
}

// expander returns the word expander for the instruction's Expand method.
func (s *State) expander() instructions.SingleWordExpander {
	lex := shell.NewLex(s.Escape)
	env := shell.EnvsFromSlice(s.ExpandEnv())
	return func(word string) (string, error) {
		out, _, err := lex.ProcessWord(word, env)
		return plan.Bounded(out, err)
	}
}

// setArg declares or redeclares a stage ARG; redeclared with no value, it
// keeps the value it had.
func (s *State) setArg(key, value string, unset bool) {
	for i := range s.Args {
		if s.Args[i].Key == key {
			if !unset {
				s.Args[i].Value, s.Args[i].Unset, s.Args[i].OverEnv = value, false, true
			}
			return
		}
	}
	s.Args = append(s.Args, KV{Key: key, Value: value, Unset: unset, OverEnv: !unset})
}

// envSet notes an ENV of key: it wins over the stage's ARG of that name
// again, until the ARG is given a value anew.
func (s *State) envSet(key string) {
	for i := range s.Args {
		if s.Args[i].Key == key {
			s.Args[i].OverEnv = false
		}
	}
}

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
