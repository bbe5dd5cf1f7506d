// Package plan turns a parsed Dockerfile into a build plan: its stages, the
// values of global and predefined ARGs, what each stage's FROM and --from
// references resolve to, the target and the stages it needs, in order. It is
// pure: no I/O, nothing run, deterministic for the same input.
//
// The semantics follow BuildKit's dockerfile2llb (frontend/dockerfile/
// dockerfile2llb/convert.go, v0.34); see the doc comments for the details.
package plan

import (
	"fmt"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-build/kiln/internal/dockerfile"
)

// Location is a place in the Dockerfile.
type Location = dockerfile.Location

// Options are the build settings that shape a plan.
type Options struct {
	Target         string            // stage to build; "" means the last stage
	BuildArgs      map[string]string // --build-arg K=V (bare K resolved by the caller)
	BuildPlatform  ocispecs.Platform // the host
	TargetPlatform ocispecs.Platform // the platform being built (one plan per platform)
	// Contexts are the --build-context names (lower-cased). A stage of
	// one of these names is replaced by that context, as in BuildKit: its
	// instructions never run, and FROM or --from of it is the context.
	Contexts map[string]bool
}

// Plan is the outcome of planning one build of one platform.
type Plan struct {
	File   string   // Dockerfile name, for errors
	Escape rune     // escape character of the Dockerfile
	Stages []*Stage // every stage, in file order (Stages[i].Index == i)
	Target *Stage
	// Order holds the stages the target needs, the target last, dependencies
	// first. As a stage may only use earlier stages (see New), this is file
	// order.
	Order []*Stage
	// Pruned holds the stages the target does not need, in file order.
	Pruned []*Stage
	// GlobalArgs are the global ARG values in effect before the first FROM,
	// as KEY=VALUE (predefined platform ARGs first, then meta ARGs, later
	// wins). They expand FROM names and FROM --platform.
	GlobalArgs []string
	// BuildArgs are the --build-arg values given.
	BuildArgs map[string]string
	// UnusedBuildArgs lists, sorted, the --build-arg names no ARG in the
	// global scope or in a stage of Order declares (BuildKit warns of them).
	UnusedBuildArgs []string

	df *dockerfile.Dockerfile // for fresh copies of the commands (Instructions)
}

// Stage is one FROM block.
type Stage struct {
	Index    int
	Name     string   // lower-cased AS name, "" if none
	Location Location // the FROM instruction
	Base     Ref      // what FROM names, after global ARG expansion
	// Platform is FROM --platform=..., expanded with the global ARGs; nil
	// means Options.TargetPlatform. A stage built FROM another stage takes
	// that stage's platform (BuildKit ignores its own --platform then).
	Platform *ocispecs.Platform
	// Commands are the instructions as parsed, not expanded: their values
	// depend on the environment of the base image, known only when solving.
	// The plan never changes them; a solve expands the copies Instructions
	// gives.
	Commands []instructions.Command
	// Deps are the stages this one needs, without duplicates, in order of
	// first use: the FROM stage, then COPY --from and RUN --mount=from=.
	Deps []*Stage
	// Images are the external images that COPY --from and RUN --mount=from=
	// name, without duplicates, in order of first use (FROM is in Base).
	Images []string
	// Args holds the global ARG values (Plan.GlobalArgs as a map). As in
	// BuildKit, none of them, predefined platform ARGs included, is in the
	// stage's environment until an `ARG NAME` in the stage redeclares it;
	// see Plan.ArgValue.
	Args map[string]string
	// Refs maps each --from value of the stage, as written, to what it
	// resolves to.
	Refs map[string]Ref
}

// DisplayName is the stage name, or "stage-N" for an unnamed stage, as
// BuildKit names them in messages.
func (s *Stage) DisplayName() string {
	if s.Name != "" {
		return s.Name
	}
	return fmt.Sprintf("stage-%d", s.Index)
}

// Ref is what a FROM or --from names: exactly one field is set.
type Ref struct {
	Stage   *Stage // a stage of this Dockerfile
	Image   string // an external image, as written after ARG expansion (not normalized)
	Scratch bool   // FROM scratch: an empty filesystem
}

func (r Ref) String() string {
	switch {
	case r.Stage != nil:
		return "stage " + r.Stage.DisplayName()
	case r.Scratch:
		return "scratch"
	default:
		return r.Image
	}
}

// New plans the build of df for opts, in the phases BuildKit's
// toDispatchState uses: global args, stages, target, dependency graph, order.
func New(df *dockerfile.Dockerfile, opts Options) (*Plan, error) {
	stages, metaArgs, err := df.Reparse()
	if err != nil {
		return nil, err
	}
	p := &Plan{File: df.Name, Escape: df.Escape, BuildArgs: opts.BuildArgs, df: df}
	p.GlobalArgs, err = p.globalArgs(metaArgs, opts, targetName(stages, opts.Target))
	if err != nil {
		return nil, err
	}
	if err := p.buildStages(stages, opts.Contexts); err != nil {
		return nil, err
	}
	if p.Target, err = p.resolveTarget(opts.Target); err != nil {
		return nil, err
	}
	if err := p.buildDeps(); err != nil {
		return nil, err
	}
	if err := p.checkCycles(); err != nil {
		return nil, err
	}
	if err := p.order(); err != nil {
		return nil, err
	}
	p.UnusedBuildArgs = p.unusedBuildArgs(metaArgs)
	return p, nil
}

func (p *Plan) errorAt(loc Location, format string, args ...any) error {
	return &dockerfile.LocationError{File: loc.File, Line: loc.Line, Err: fmt.Errorf(format, args...)}
}

// Instructions returns fresh copies of a stage's commands, parsed again, for
// a solve to expand (convert.Expand changes a command in place): the plan
// stays as planned, and every solve of it gets its own.
func (p *Plan) Instructions(st *Stage) ([]instructions.Command, error) {
	if st.Commands == nil {
		return nil, nil // no instructions, or replaced by a named context
	}
	return p.df.ReparseStage(st.Index)
}
