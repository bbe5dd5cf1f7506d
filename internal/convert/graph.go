package convert

import (
	"context"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-build/kiln/internal/dockerfile"
	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/plan"
	"github.com/kiln-build/kiln/internal/scope"
)

// MetaResolver gives an external base image's config (its layers are not
// needed to convert), as BuildKit's dockerfile2llb asks its resolver. Tests
// give a fake.
type MetaResolver interface {
	ResolveImageConfig(ctx context.Context, ref string, p ocispec.Platform) (*image.Image, error)
}

// Graph is a whole build converted: the stages the target needs
// (plan.Order: dependencies first, the target last), each from its base.
type Graph struct {
	Stages []GraphStage
}

// GraphStage is one stage of a graph: its base (st.Base: an image, an
// earlier stage or scratch), the platform it is built for, its vertices
// and final config.
type GraphStage struct {
	Stage    *plan.Stage
	Platform ocispec.Platform
	*StageGraph
}

// GraphOptions are the build's settings a conversion reads.
type GraphOptions struct {
	Platform  ocispec.Platform  // the target platform of stages without FROM --platform
	BuildArgs map[string]string // --build-arg values
	Epoch     time.Time
	// AllStages converts every stage, in file order, not only those the
	// target needs, as BuildKit's lint without a target (its AllStages):
	// a stage the target does not need gets no ONBUILD triggers.
	AllStages bool
	StageOptions
}

// Convert turns the plan into an op graph without running anything: each
// stage of plan.Order is converted from its base's config (an earlier
// stage's converted one, scratch's, or the resolver's for an image).
func Convert(ctx context.Context, p *plan.Plan, o GraphOptions, r MetaResolver) (*Graph, error) {
	g := &Graph{}
	done := map[*plan.Stage]*StageGraph{}
	stages := p.Order
	if o.AllStages {
		stages = p.Stages
	}
	needed := map[*plan.Stage]bool{}
	for _, st := range p.Order {
		needed[st] = true
	}
	for _, st := range stages {
		pl := o.Platform
		if st.Platform != nil {
			pl = *st.Platform
		}
		var base *image.Image
		var args scope.Args
		switch {
		case st.Base.Scratch:
			base = image.New(pl)
		case st.Base.Stage != nil:
			base = done[st.Base.Stage].Image
			args = done[st.Base.Stage].Args // ConvertStage copies them
		default:
			img, err := r.ResolveImageConfig(ctx, st.Base.Image, pl)
			if err != nil {
				return nil, dockerfile.ErrorAt(st.Location, err)
			}
			base = img
		}
		s := State{Img: base, Args: args, Globals: st.Args, BuildArgs: o.BuildArgs, Escape: p.Escape, Epoch: o.Epoch}
		if o.Observer != nil {
			o.Observer.Stage(st, pl)
		}
		so := o.StageOptions
		so.noTriggers = !needed[st]
		sg, err := ConvertStage(p, st, s, so)
		if err != nil {
			return nil, err
		}
		done[st] = sg
		g.Stages = append(g.Stages, GraphStage{Stage: st, Platform: pl, StageGraph: sg})
	}
	return g, nil
}
