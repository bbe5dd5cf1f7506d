package instr

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/containerd/platforms"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"

	"github.com/kiln-build/kiln/internal/cachekey"
	"github.com/kiln-build/kiln/internal/convert"
	"github.com/kiln-build/kiln/internal/dockerfile"
	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/plan"
	"github.com/kiln-build/kiln/internal/scope"
)

// BuildOptions are one platform's build.
type BuildOptions struct {
	Worker   *Worker
	Plan     *plan.Plan
	Platform ocispec.Platform
	// MultiPlatform is set when the build has several target platforms:
	// progress lines then name their platform, as BuildKit's do.
	MultiPlatform bool
	// Resolver resolves an external image (FROM, COPY --from, a mount's
	// from=); Result.Images lists what it was asked.
	Resolver *Resolver
	// Contexts are --build-context values by name: "docker-image://REF",
	// "oci-layout://PATH[:TAG|@DIGEST]" or a local directory. FROM and
	// COPY --from look here first.
	Contexts map[string]string
	// Locals are the named contexts that are directories, ready to read.
	Locals    map[string]*LocalDir
	fromShown map[*plan.Stage]bool // the stages that name their FROM line
	rec       *recorder            // what the build resolved and fetched
}

// result is one stage's outcome, published once.
type result struct {
	done chan struct{}
	stageResult
	err error
}

// stageResult is what a built stage gives the stages that read it.
type stageResult struct {
	img  *image.Image
	key  digest.Digest
	args scope.Args // its ARGs at its end: a stage FROM it starts with them
}

// Build builds the target stage and every stage it needs: each stage in its
// own goroutine, waiting only for the stages it reads from, so independent
// stages run in parallel.
func Build(ctx context.Context, o BuildOptions) (*Result, error) {
	results := map[*plan.Stage]*result{}
	for _, st := range o.Plan.Order {
		results[st] = &result{done: make(chan struct{})}
	}
	o.fromShown = fromShown(o.Plan, o.Platform)
	o.rec = &recorder{}
	g, gctx := errgroup.WithContext(ctx)
	for _, st := range o.Plan.Order {
		st := st
		g.Go(func() error {
			r := results[st]
			defer close(r.done)
			r.stageResult, r.err = buildStage(gctx, o, st, results)
			return r.err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, firstRealError(o.Plan, results, err)
	}
	res := &Result{Image: results[o.Plan.Target].img, Stages: map[*plan.Stage]*image.Image{},
		Images: o.rec.images, Remotes: o.rec.remotes}
	for st, r := range results {
		res.Stages[st] = r.img
	}
	return res, nil
}

// resolve resolves an external image and records it in the result.
func (o BuildOptions) resolve(ctx context.Context, ref string, p ocispec.Platform) (Resolved, error) {
	r, err := o.Resolver.Resolve(ctx, ref, p)
	if err == nil {
		o.rec.image(ImageSource{Ref: ref, Platform: p, Digest: r.Digest})
	}
	return r, err
}

// firstRealError prefers a stage's own failure over the cancellations it
// caused in the others.
func firstRealError(p *plan.Plan, results map[*plan.Stage]*result, err error) error {
	for _, st := range p.Order {
		if r := results[st]; r.err != nil && !errors.Is(r.err, context.Canceled) {
			return r.err
		}
	}
	return err
}

func wait(ctx context.Context, r *result) (*image.Image, digest.Digest, error) {
	select {
	case <-r.done:
		if r.err != nil {
			return nil, "", fmt.Errorf("a stage it depends on failed")
		}
		return r.img, r.key, nil
	case <-ctx.Done():
		return nil, "", ctx.Err()
	}
}

func stageLabel(st *plan.Stage) string {
	if st.Name != "" {
		return st.Name
	}
	return "stage-" + strconv.Itoa(st.Index)
}

func buildStage(ctx context.Context, o BuildOptions, st *plan.Stage, results map[*plan.Stage]*result) (stageResult, error) {
	p := o.Platform
	if st.Platform != nil {
		p = *st.Platform
	}
	steps := stepsOf(o.Plan, st)
	img, key, err := baseImage(ctx, o, st, p, results, &steps)
	if err != nil {
		return stageResult{}, err
	}
	var args scope.Args
	if st.Base.Stage != nil {
		args = results[st.Base.Stage].args // done: baseImage waited for it; ConvertStage copies them
	}
	s := &State{
		State: convert.State{Img: img, Args: args, Globals: st.Args, BuildArgs: o.Worker.BuildArgs, Escape: o.Plan.Escape, Epoch: o.Worker.Epoch},
		Stage: stageLabel(st), Key: key, Platform: platforms.Format(p), Arch: p.Architecture,
		File: o.Plan.File, steps: steps, platform: p, multi: o.MultiPlatform,
		From: func(ctx context.Context, name string) (*Named, error) {
			return resolveFrom(ctx, o, st, name, p, results)
		},
		rec: o.rec,
	}
	if err := fromLocal(ctx, o, st, s); err != nil {
		return stageResult{}, err
	}
	g, err := convert.ConvertStage(o.Plan, st, s.State, convert.StageOptions{Network: o.Worker.Network})
	if err != nil {
		return stageResult{}, err
	}
	img, err = runVertices(ctx, o.Worker, st, s, g)
	if err != nil {
		return stageResult{}, err
	}
	return stageResult{img: img, key: s.Key, args: g.Args}, nil
}

// runVertices runs a converted stage's ops in order, each in the state
// conversion recorded for it over the layers so far, and returns the
// stage's image: the converted config and history with the ops' layers
// (an op that changed nothing marks its history entry empty_layer).
func runVertices(ctx context.Context, e *Worker, st *plan.Stage, s *State, g *convert.StageGraph) (*image.Image, error) {
	// BuildKit counts every trigger in the stage's total (after FROM's
	// line was named) and shows the ones that are steps as "ONBUILD RUN …".
	s.steps.Total += g.OnBuild
	img := g.Image.Clone()
	layers := s.Img.Layers
	for _, v := range g.Vertices {
		s.State = v.State
		s.Img = v.State.Img.Clone()
		s.Img.Layers = layers
		s.steps.OnBuild = v.OnBuild
		if v.Step != 0 {
			s.Step = v.Step
		}
		if err := runVertex(ctx, e, s, v); err != nil {
			if v.OnBuild {
				return nil, convert.OnBuildError(st, v.Cmd, err)
			}
			return nil, locate(st, v.Cmd, err)
		}
		if len(s.Img.Layers) > len(layers) {
			l := s.Img.Layers[len(s.Img.Layers)-1]
			img.Layers = append(img.Layers, l)
			img.Config.RootFS.DiffIDs = append(img.Config.RootFS.DiffIDs, l.DiffID)
		} else {
			img.Config.History[v.History].EmptyLayer = true
		}
		layers = s.Img.Layers
	}
	s.steps.OnBuild = false
	s.Img = img
	return img, nil
}

// baseImage starts a stage from scratch, an earlier stage or an image,
// numbering an image's FROM line as the stage's first step.
func baseImage(ctx context.Context, o BuildOptions, st *plan.Stage, p ocispec.Platform, results map[*plan.Stage]*result, steps *convert.Steps) (*image.Image, digest.Digest, error) {
	switch {
	case st.Base.Scratch:
		return image.New(p), cachekey.Base("scratch", platforms.Format(p)), nil
	case st.Base.Stage != nil:
		img, key, err := wait(ctx, results[st.Base.Stage])
		if err != nil {
			return nil, "", err
		}
		return img.Clone(), key, nil
	}
	ref, local := o.namedContext(st.Base.Image, st.Base.Image)
	if local != nil {
		// The directory becomes the stage's first layer (see fromLocal).
		return image.New(p), cachekey.Base("scratch", platforms.Format(p)), nil
	}
	r, err := o.resolve(ctx, ref, p)
	if err != nil {
		return nil, "", dockerfile.ErrorAt(st.Location, err)
	}
	if o.MultiPlatform {
		steps.Platform = convert.PlatformPrefix(p, nil)
	}
	line := steps.Next(fromLine(ref, r.Digest))
	if o.fromShown[st] && o.Worker.lines.first(line) {
		// The image is resolved and its layers are in the store: the step
		// is done, as BuildKit's cached FROM.
		o.Worker.Progress.Start(line).Done(nil)
	}
	return r.Image.Clone(), cachekey.Base(r.Manifest, platforms.Format(p)), nil
}

// resolveFrom finds what COPY --from names: a stage or an external image.
func resolveFrom(ctx context.Context, o BuildOptions, st *plan.Stage, name string, p ocispec.Platform, results map[*plan.Stage]*result) (*Named, error) {
	ref, ok := st.Refs[name]
	if !ok {
		ref = plan.Ref{Image: name}
	}
	if ref.Stage != nil {
		img, _, err := wait(ctx, results[ref.Stage])
		if err != nil {
			return nil, err
		}
		return &Named{Name: name, Image: img}, nil
	}
	if ref.Scratch {
		return &Named{Name: name, Image: image.New(p)}, nil
	}
	imageRef, local := o.namedContext(name, ref.Image)
	if local != nil {
		return &Named{Name: name, Local: local}, nil
	}
	r, err := o.resolve(ctx, imageRef, p)
	if err != nil {
		return nil, err
	}
	return &Named{Name: name, Image: r.Image}, nil
}
