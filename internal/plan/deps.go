package plan

import (
	"errors"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/shell"

	"github.com/kiln-build/kiln/internal/dockerfile"
)

// errFromExpansion is BuildKit's error for a variable in COPY --from.
var errFromExpansion = errors.New("variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround")

// edge is one use of a stage by a command, kept for error locations.
type edge struct {
	to  *Stage
	loc Location
	cmd instructions.Command
}

// buildDeps resolves every COPY --from and RUN --mount=from= of every stage,
// reachable or not, as BuildKit's buildStageDependencyGraph (toCommand,
// detectRunMount): a name matches any stage of the file, earlier, later or
// itself (case-insensitive); COPY --from also takes a stage index; anything
// else is an external image. Whether the use is legal is checked later
// (checkCycles, order).
func (p *Plan) buildDeps() error {
	for _, s := range p.Stages {
		for _, cmd := range s.Commands {
			if err := p.addCommandDeps(s, cmd); err != nil {
				return dockerfile.ErrorAt(dockerfile.Locate(p.File, cmd.Location()), err)
			}
		}
		if err := p.addTriggerDeps(s); err != nil {
			return err
		}
	}
	return nil
}

// addTriggerDeps resolves the --from names of the ONBUILD triggers s runs:
// those of its base stage, as BuildKit resolves a trigger's COPY --from and
// RUN --mount=from= against the stages of the file. A trigger that does not
// parse is reported when it runs.
func (p *Plan) addTriggerDeps(s *Stage) error {
	if s.Base.Stage == nil {
		return nil
	}
	for _, cmd := range s.Base.Stage.Commands {
		ob, ok := cmd.(*instructions.OnbuildCommand)
		if !ok {
			continue
		}
		df, err := dockerfile.Parse("ONBUILD trigger", []byte("FROM scratch\n"+ob.Expression+"\n"))
		if err != nil || len(df.Stages) != 1 || len(df.Stages[0].Commands) != 1 {
			continue
		}
		if err := p.addCommandDeps(s, df.Stages[0].Commands[0]); err != nil {
			return dockerfile.ErrorAt(dockerfile.Locate(p.File, cmd.Location()), err)
		}
	}
	return nil
}

func (p *Plan) addCommandDeps(s *Stage, cmd instructions.Command) error {
	switch c := cmd.(type) {
	case *instructions.CopyCommand:
		if c.From == "" {
			return nil
		}
		res, _, err := lex(p.Escape).ProcessWord(c.From, shell.EnvsFromSlice(nil))
		if err != nil {
			return err
		}
		if res != c.From {
			return errFromExpansion
		}
		ref, err := p.lookup(c.From, true)
		if err != nil {
			return err
		}
		s.addRef(c.From, ref)
	case *instructions.RunCommand:
		// BuildKit's parser already refuses variables in from=.
		for _, m := range instructions.GetMounts(c) {
			if m.From == "" {
				continue
			}
			ref, err := p.lookup(m.From, false)
			if err != nil {
				return err
			}
			s.addRef(m.From, ref)
		}
	}
	return nil
}

// lookup resolves a --from value. Only COPY --from accepts a stage index;
// BuildKit looks RUN --mount=from= up by name only.
func (p *Plan) lookup(from string, byIndex bool) (Ref, error) {
	if byIndex {
		if i, err := strconv.Atoi(from); err == nil {
			if i < 0 || i >= len(p.Stages) {
				return Ref{}, errors.New("invalid stage index " + from)
			}
			return Ref{Stage: p.Stages[i]}, nil
		}
	}
	lower := strings.ToLower(from)
	for i := len(p.Stages) - 1; i >= 0; i-- { // the later of two same-named stages, as BuildKit
		if st := p.Stages[i]; st.Name != "" && st.Name == lower {
			return Ref{Stage: st}, nil
		}
	}
	if from == scratchName {
		return Ref{Scratch: true}, nil
	}
	if err := validateImage(from); err != nil {
		return Ref{}, err
	}
	return Ref{Image: from}, nil
}

// addRef records a --from use in Refs, Deps and Images.
func (s *Stage) addRef(from string, ref Ref) {
	s.Refs[from] = ref
	switch {
	case ref.Stage != nil:
		for _, d := range s.Deps {
			if d == ref.Stage {
				return
			}
		}
		s.Deps = append(s.Deps, ref.Stage)
	case ref.Image != "":
		for _, img := range s.Images {
			if img == ref.Image {
				return
			}
		}
		s.Images = append(s.Images, ref.Image)
	}
}

// commandEdges lists the stage's command uses of stages, in command order
// (FROM not included, as in BuildKit's dispatchState.deps).
func (p *Plan) commandEdges(s *Stage) []edge {
	var out []edge
	add := func(from string, cmd instructions.Command) {
		if ref := s.Refs[from]; ref.Stage != nil {
			out = append(out, edge{to: ref.Stage, loc: dockerfile.Locate(p.File, cmd.Location()), cmd: cmd})
		}
	}
	for _, cmd := range s.Commands {
		switch c := cmd.(type) {
		case *instructions.CopyCommand:
			if c.From != "" {
				add(c.From, cmd)
			}
		case *instructions.RunCommand:
			for _, m := range instructions.GetMounts(c) {
				if m.From != "" {
					add(m.From, cmd)
				}
			}
		}
	}
	return out
}
