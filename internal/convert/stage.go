package convert

import (
	"fmt"
	"strings"
	"time"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	"github.com/moby/buildkit/util/system"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-build/kiln/internal/dockerfile"
	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/plan"
	"github.com/kiln-build/kiln/internal/scope"
)

// Vertex is one filesystem instruction of a stage as data: what it means
// (Run, Copy or Workdir), the stage as its op sees it, and the other
// filesystems it reads. Binding it to I/O (hashing sources, preparing
// mounts) and running it is the executing side's (internal/instr).
type Vertex struct {
	Cmd     instructions.Command // expanded; *RunCommand, *CopyCommand, *AddCommand or *WorkdirCommand
	Name    string               // progress name (StepName)
	Step    int                  // the instruction's position in its stage, FROM being 1; 0 for an ONBUILD trigger
	OnBuild bool                 // a trigger of the base image's ONBUILD
	// State is the stage when the op runs: its config, the history before
	// the op's own entry, the ARG scope.
	State   State
	Run     *Run   // RUN
	Copy    *Copy  // COPY or ADD
	Workdir string // WORKDIR: the directory to create
	Inputs  []Input
	// History is the index of the op's entry in the stage's final history,
	// marked empty_layer by the executing side when the op changed nothing.
	History int
}

// Input is a filesystem a vertex reads besides its stage's: COPY --from,
// RUN --mount from=. Ref is what the Dockerfile makes of the name: a stage,
// scratch, or an image reference (which --build-context may replace).
type Input struct {
	Name string
	plan.Ref
}

// StageGraph is one stage converted: its filesystem instructions in order,
// and the image config and history the stage ends with (its layers are the
// base's; the ops add theirs).
type StageGraph struct {
	Vertices []Vertex
	Image    *image.Image
	// Args are the stage's ARGs at its end: a stage built FROM this one
	// starts with them, as BuildKit's dispatchState.init copies its base's
	// buildArgs (they expand its words and are in its RUN's env and
	// history).
	Args scope.Args
	// OnBuild is how many ONBUILD triggers the base image carried; BuildKit
	// counts them in the stage's step total.
	OnBuild int
}

// StageOptions are what a stage's conversion reads besides the plan.
type StageOptions struct {
	Network  string   // --network, the default of every RUN ("" for the default)
	Observer Observer // told of the conversion as it happens (lint); nil for none
	// noTriggers leaves the base's ONBUILD triggers out: BuildKit runs
	// them only in the stages its target needs (see GraphOptions.AllStages).
	noTriggers bool
}

// ConvertStage converts stage st of p from its state s (the base image's
// config, the global ARG values, build args, escape, epoch): the base's
// ONBUILD triggers first, then the stage's instructions. s.Img is not
// changed. Errors name the Dockerfile file and line.
func ConvertStage(p *plan.Plan, st *plan.Stage, s State, o StageOptions) (*StageGraph, error) {
	s.Img = s.Img.Clone()
	// Set and EnvSet change entries in place: a base stage's ARGs (the
	// caller's s.Args) stay as they were.
	s.Args = append(scope.Args(nil), s.Args...)
	ensurePath(s.Img)
	c := stageConverter{p: p, st: st, s: &s, o: o, g: &StageGraph{}}
	if err := c.onbuild(); err != nil {
		return nil, err
	}
	cmds, err := p.Instructions(st)
	if err != nil {
		return nil, err
	}
	for i, cmd := range cmds {
		if err := c.instruction(cmd, i+2, false); err != nil {
			return nil, dockerfile.ErrorAt(dockerfile.Locate(st.Location.File, cmd.Location()), err)
		}
	}
	c.g.Image = s.Img
	c.g.Args = s.Args
	return c.g, nil
}

type stageConverter struct {
	p  *plan.Plan
	st *plan.Stage
	s  *State
	o  StageOptions
	g  *StageGraph
}

// onbuild converts the ONBUILD triggers the base image carries, before the
// stage's own instructions, and clears them from the new image, as Docker
// and BuildKit do.
func (c *stageConverter) onbuild() error {
	triggers := c.s.Img.Config.Config.OnBuild
	c.s.Img.Config.Config.OnBuild = nil
	if len(triggers) == 0 || c.o.noTriggers {
		return nil
	}
	c.g.OnBuild = len(triggers)
	for _, trigger := range triggers {
		cmd, err := c.trigger(trigger)
		if err != nil {
			return dockerfile.ErrorAt(c.st.Location, fmt.Errorf("parsing ONBUILD trigger %q of the base image: %w", trigger, err))
		}
		if err := c.instruction(cmd, 0, true); err != nil {
			return OnBuildError(c.st, cmd, err)
		}
	}
	return nil
}

// trigger parses one ONBUILD trigger as BuildKit's initOnBuildTriggers
// does: a single instruction, placed at the stage's FROM line.
func (c *stageConverter) trigger(src string) (instructions.Command, error) {
	ast, err := parser.Parse(strings.NewReader(src))
	if err != nil {
		return nil, err
	}
	if len(ast.AST.Children) != 1 {
		return nil, fmt.Errorf("onbuild trigger should be a single expression")
	}
	node := ast.AST.Children[0]
	node.StartLine, node.EndLine = c.st.Location.Line, c.st.Location.EndLine
	return instructions.ParseCommand(node)
}

// OnBuildError places an ONBUILD trigger's error at its stage's FROM.
func OnBuildError(st *plan.Stage, cmd instructions.Command, err error) error {
	return dockerfile.ErrorAt(st.Location, fmt.Errorf("ONBUILD %s: %w", cmd.Name(), err))
}

// ensurePath gives a stage's image PATH when its base has none, as
// BuildKit does for every stage (except on Windows, left to the OS).
func ensurePath(img *image.Image) {
	if img.Config.Platform.OS == "windows" {
		return
	}
	if _, ok := shell.EnvsFromSlice(img.Env()).Get("PATH"); !ok {
		img.SetEnv("PATH", system.DefaultPathEnvUnix)
	}
}

// instruction expands cmd in the stage's environment, applies a metadata
// instruction, and makes a filesystem one a vertex.
func (c *stageConverter) instruction(cmd instructions.Command, step int, onbuild bool) error {
	ob := observing{o: c.o.Observer, s: c.s, cmd: cmd}
	env := c.s.ExpandEnv()
	if err := expand(c.p.File, c.s.Escape, cmd, env, ob); err != nil {
		return err
	}
	ob.expanded()
	if handled, err := meta(c.s, cmd, ob); handled {
		return err
	}
	// Named from the command as written (expansion leaves that text) in
	// the environment before it; RUN's mounts are parsed by now.
	v := Vertex{Cmd: cmd, Name: StepName(cmd, env, c.s.Escape), Step: step, OnBuild: onbuild}
	history, err := c.vertex(cmd, &v)
	if err != nil || history == "" {
		return err
	}
	v.State = *c.s
	v.State.Img = c.s.Img.Clone()
	v.State.Args = append(v.State.Args[:0:0], c.s.Args...)
	v.History = len(c.s.Img.Config.History)
	c.s.Img.Config.History = append(c.s.Img.Config.History, historyEntry(history, c.s.Epoch))
	c.g.Vertices = append(c.g.Vertices, v)
	return nil
}

// vertex says what a filesystem instruction means; history is "" when it
// makes no op (WORKDIR /).
func (c *stageConverter) vertex(cmd instructions.Command, v *Vertex) (history string, err error) {
	switch x := cmd.(type) {
	case *instructions.WorkdirCommand:
		wd, mkdir := Workdir(c.s, x)
		if !mkdir {
			return "", nil
		}
		v.Workdir = wd
		return "WORKDIR " + wd, nil
	case *instructions.RunCommand:
		r, err := RunOf(c.s, x, c.o.Network)
		if err != nil {
			return "", err
		}
		v.Run = &r
		for _, m := range instructions.GetMounts(x) {
			if m.From != "" && (m.Type == instructions.MountTypeBind || m.Type == instructions.MountTypeCache) {
				v.Inputs = append(v.Inputs, c.input(m.From))
			}
		}
		return r.History, nil
	case *instructions.CopyCommand:
		cp, err := CopyOf(c.s, x)
		if err != nil {
			return "", err
		}
		v.Copy = &cp
		if x.From != "" {
			v.Inputs = append(v.Inputs, c.input(x.From))
		}
		return cp.History, nil
	case *instructions.AddCommand:
		cp, err := AddOf(c.s, x)
		if err != nil {
			return "", err
		}
		v.Copy = &cp
		return cp.History, nil
	default:
		return "", fmt.Errorf("%s is not supported yet", cmd.Name())
	}
}

// input is what a --from name refers to in this stage.
func (c *stageConverter) input(name string) Input {
	ref, ok := c.st.Refs[name]
	if !ok {
		ref = plan.Ref{Image: name}
	}
	return Input{Name: name, Ref: ref}
}

// historyEntry is an op's history entry as the executing side commits it
// (image.AddLayer): made a layer until the op says it changed nothing.
func historyEntry(createdBy string, created time.Time) ocispec.History {
	return ocispec.History{Created: &created, CreatedBy: createdBy, Comment: "kiln"}
}
