package convert

import (
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-build/kiln/internal/plan"
)

// Observer watches a conversion as it happens. Lint's checks run inside
// it, as BuildKit's run inside dockerfile2llb's dispatch: they read the
// build's own scoping and expansion instead of replaying them. A base
// image's ONBUILD triggers are observed too, placed at the stage's FROM
// line as BuildKit places them. s is the stage's state at that moment; an
// observer only reads it.
type Observer interface {
	// Stage is told a stage's conversion begins, on platform p.
	Stage(st *plan.Stage, p ocispec.Platform)
	// Word is told of every word the expansion of cmd processes: the
	// names it used and the ones that were unset. An ARG's default is
	// one, when the ARG takes it.
	Word(s *State, cmd instructions.Command, res shell.ProcessWordResult)
	// Expanded is told of cmd once expanded, before it is applied.
	Expanded(s *State, cmd instructions.Command)
	// Set is told of each name an ENV or ARG has just set, in order.
	Set(s *State, cmd instructions.Command, key string)
}

// observing is the observer of one instruction, nil-safe: every method
// does nothing without an observer.
type observing struct {
	o   Observer
	s   *State
	cmd instructions.Command
}

func (ob observing) word(res shell.ProcessWordResult) {
	if ob.o != nil {
		ob.o.Word(ob.s, ob.cmd, res)
	}
}

func (ob observing) expanded() {
	if ob.o != nil {
		ob.o.Expanded(ob.s, ob.cmd)
	}
}

func (ob observing) set(key string) {
	if ob.o != nil {
		ob.o.Set(ob.s, ob.cmd, key)
	}
}
