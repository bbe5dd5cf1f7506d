package session

import (
	"context"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/containerd/platforms"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-build/kiln/internal/attest"
	"github.com/kiln-build/kiln/internal/buildctx"
	"github.com/kiln-build/kiln/internal/config"
	"github.com/kiln-build/kiln/internal/dockerfile"
	"github.com/kiln-build/kiln/internal/executor"
	"github.com/kiln-build/kiln/internal/exporter"
	"github.com/kiln-build/kiln/internal/fshash"
	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/instr"
	"github.com/kiln-build/kiln/internal/layer"
	"github.com/kiln-build/kiln/internal/lint"
	"github.com/kiln-build/kiln/internal/plan"
	"github.com/kiln-build/kiln/internal/progress"
	"github.com/kiln-build/kiln/internal/registry"
	"github.com/kiln-build/kiln/internal/snapshot"
	"github.com/kiln-build/kiln/internal/solver"
	"github.com/kiln-build/kiln/internal/store"
)

// Result is what a build made.
type Result struct {
	Descriptor ocispec.Descriptor // the image manifest (one platform) or index (several) in the store
	// Bare is the image without attestations; Attested is the result as an
	// unnamed image output carries it: an index with every attestation
	// asked for (Bare when there is none). --verify-reproducible compares
	// both.
	Bare, Attested ocispec.Descriptor
	Image          *image.Image   // the first platform's image
	Images         []*image.Image // one per platform, in --platform order
	// Metadata is what --metadata-file holds, with buildx's keys
	// (exporter.Metadata), when Options.MetadataFile or Metadata asked
	// for it; bake writes it per target.
	Metadata map[string]any
}

// Run performs the build: load, parse and plan (prepare), then solve and
// export over one worker.
func Run(ctx context.Context, o Options) (*Result, error) {
	// Cancelled on return: releases the store lock and anything else tied to ctx.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	in, err := prepare(o)
	if err != nil {
		return nil, err
	}
	rep, err := reporter(o)
	if err != nil {
		return nil, err
	}
	defer rep.Close()
	warn(rep, in.df, in.bctx, in.plans[0], o, in.targets[0])
	w, err := newWorker(ctx, o, in.bctx, rep)
	if err != nil {
		return nil, err
	}
	defer w.Cleanup()
	cfg, err := config.Load(o.ConfigPath)
	if err != nil {
		return nil, err
	}
	client := registry.New(cfg)
	srcs := make([]*sources, len(in.plans))
	for i := range srcs {
		srcs[i] = &sources{}
	}
	images, err := solve(ctx, o, in, w, client, srcs)
	if w.StepsDone != nil {
		w.StepsDone()
	}
	if err != nil {
		return nil, err
	}
	prov := func(i int) attest.Build {
		return provenanceInput(o, in.dockerfile, in.plans[i], in.targets[i], srcs[i])
	}
	fin := finishing{o: o, w: w, client: client, exporters: in.exporters, provenance: prov}
	if o.Attest.SBOM != nil {
		res := instr.NewResolver(w.Store, client, w.Progress, o.Pull)
		if fin.sboms, err = scanSBOMs(ctx, w, res, *o.Attest.SBOM, images); err != nil {
			return nil, err
		}
	}
	result, err := finish(ctx, fin, images)
	if err == nil {
		err = exportCaches(ctx, w, client, o.CacheTo, images)
	}
	if err == nil {
		// Best effort: a lost stat cache only costs re-reading files.
		_ = in.bctx.Cache.Save(w.Store.StatCachePath(in.bctx.Root))
	}
	return result, err
}

// planned is what a build knows before it touches the store: its context,
// Dockerfile, platforms, one plan per platform, and its exporters.
type planned struct {
	bctx *buildctx.Context
	df   *dockerfile.Dockerfile
	// dockerfile is the Dockerfile's bytes, which mode=max provenance embeds.
	dockerfile []byte
	targets    []ocispec.Platform
	plans      []*plan.Plan
	exporters  []exporter.Exporter
}

// prepare loads, parses and plans the build, and resolves its exporters, so a
// bad flag or Dockerfile fails before any work.
func prepare(o Options) (*planned, error) {
	load := buildctx.Load
	if o.Shared != nil {
		load = o.Shared.loadContext
	}
	bctx, err := load(o.ContextDir, o.Dockerfile)
	if err != nil {
		return nil, err
	}
	in := &planned{bctx: bctx}
	if in.df, in.dockerfile, err = parseDockerfile(bctx); err != nil {
		return nil, err
	}
	if in.targets, err = targetPlatforms(o.Platforms); err != nil {
		return nil, err
	}
	in.exporters, err = exporter.Resolve(o.Outputs, exporter.ResolveOptions{Tags: o.Tags, Push: o.Push, Load: o.Load, Platforms: len(in.targets)})
	if err != nil {
		return nil, err
	}
	if in.plans, err = makePlans(in.df, o, in.targets); err != nil {
		return nil, err
	}
	return in, nil
}

// solve builds every platform's image and makes sure all their layers'
// blobs are in the store (some may have come from a remote cache).
func solve(ctx context.Context, o Options, in *planned, w *instr.Worker, client *registry.Client, srcs []*sources) ([]*image.Image, error) {
	res := instr.NewResolver(w.Store, client, w.Progress, o.Pull)
	res.MultiPlatform = len(in.targets) > 1
	loadLines(w.Progress, in)
	importCaches(ctx, w, client, o.CacheFrom)
	locals, releaseLocals, err := instr.LocalContexts(w.Store, w.Snap, o.Contexts)
	if err != nil {
		return nil, err
	}
	defer releaseLocals()
	for _, l := range locals {
		l.Context.Owners = o.ContextOwners
	}
	common := instr.BuildOptions{Worker: w, Resolver: res, Contexts: o.Contexts, Locals: locals, MultiPlatform: res.MultiPlatform}
	results, err := solveAll(ctx, common, in.plans, in.targets)
	if err != nil {
		return nil, err
	}
	images := make([]*image.Image, len(results))
	for i, r := range results {
		images[i], srcs[i] = r.Image, sourcesOf(r)
	}
	if len(o.Platforms) > 0 {
		for i, img := range images {
			images[i] = img.Clone() // platforms may share a final stage's image
			stampTargetPlatform(images[i], in.targets[i])
		}
	}
	if o.Report {
		report(w.Progress, in.plans[0], images[0], results[0].Stages)
	}
	for _, img := range images {
		for _, l := range img.Layers {
			if err := w.Solver.EnsureBlob(ctx, l); err != nil {
				return nil, err
			}
		}
	}
	return images, nil
}

// reporter is the build's progress: its own, or, in a bake, the shared
// display with the target's name on every step.
func reporter(o Options) (*progress.Reporter, error) {
	if o.Shared != nil {
		return o.Shared.Progress.WithPrefix(o.Name), nil
	}
	return progress.New(o.Out, o.Progress)
}

func parseDockerfile(bctx *buildctx.Context) (*dockerfile.Dockerfile, []byte, error) {
	src, err := buildctx.ReadDockerfile(bctx.Dockerfile, bctx.DockerfileName)
	if err != nil {
		return nil, nil, err
	}
	df, err := dockerfile.Parse(bctx.DockerfileName, src)
	return df, src, err
}

// makePlans plans the build once per target platform: the predefined
// TARGET* args differ, and each plan expands its own copy of the commands.
func makePlans(df *dockerfile.Dockerfile, o Options, targets []ocispec.Platform) ([]*plan.Plan, error) {
	host := platforms.Normalize(platforms.DefaultSpec())
	plans := make([]*plan.Plan, len(targets))
	for i, t := range targets {
		p, err := plan.New(df, plan.Options{Target: o.Target, BuildArgs: o.BuildArgs, BuildPlatform: host, TargetPlatform: t, Contexts: contextNames(o.Contexts)})
		if err != nil {
			return nil, err
		}
		plans[i] = p
	}
	return plans, nil
}

// warn reports BuildKit's lint findings before anything is pulled: base
// images already in the store (as the resolver would use them) give lint
// their env; the others are judged without it.
func warn(rep *progress.Reporter, df *dockerfile.Dockerfile, bctx *buildctx.Context, p *plan.Plan, o Options, target ocispec.Platform) {
	lo := lint.Options{Ignore: bctx.Ignore, BuildArgs: o.BuildArgs, Platform: &target, Target: o.Target,
		BaseEnv: lint.StoreEnv(storeRoot(o)).WithContexts(o.Contexts)}
	found := lint.CheckWith(df, lo)
	// A build dispatches only the stages its target needs.
	if kept, err := lint.ForStage(df, p.Target.Index, found); err == nil {
		found = kept
	}
	for _, f := range found {
		if lint.IsBuildKitRule(f.Rule) {
			rep.Warn("%s:%d: %s: %s", f.File, f.Line, f.Rule, f.Message)
		}
	}
	for _, a := range p.UnusedBuildArgs {
		rep.Warn("build argument %q was not consumed by any stage", a)
	}
}

// solveAll builds every platform at once; steps that are the same for
// several platforms (a FROM --platform=$BUILDPLATFORM stage) run once.
func solveAll(ctx context.Context, common instr.BuildOptions, plans []*plan.Plan, targets []ocispec.Platform) ([]*instr.Result, error) {
	results := make([]*instr.Result, len(plans))
	g, gctx := errgroup.WithContext(ctx)
	for i := range plans {
		i := i
		g.Go(func() error {
			opts := common
			opts.Plan, opts.Platform = plans[i], targets[i]
			r, err := instr.Build(gctx, opts)
			results[i] = r
			return err
		})
	}
	return results, g.Wait()
}

func newWorker(ctx context.Context, o Options, bctx *buildctx.Context, rep *progress.Reporter) (*instr.Worker, error) {
	root := o.StoreRoot
	if root == "" {
		root = store.DefaultRoot()
	}
	st, err := store.Open(root)
	if err != nil {
		return nil, err
	}
	// Held shared for the whole build: prune waits for it.
	unlock, err := st.Lock(store.Shared)
	if err != nil {
		return nil, err
	}
	go func() { <-ctx.Done(); unlock() }()
	w := &instr.Worker{Store: st}
	// Layers missing from the store come from the imported caches.
	var overlay snapshot.Waiter
	if o.CacheOnly {
		overlay = snapshot.NewUnavailable(snapshot.CapabilitiesFor(o.Isolation))
	} else {
		fetch := func(ctx context.Context, l image.Layer) error { return w.Solver.EnsureBlob(ctx, l) }
		if overlay, err = newSnapshotter(o, st, bctx, fetch); err != nil {
			return nil, err
		}
	}
	if g, ok := overlay.(interface{ GiveBack() }); ok {
		w.StepsDone = g.GiveBack
	}
	w.Snap = newMountHook(overlay, st, rep) // cache mounts in remote caches (cachemounts.go)
	runner, err := executor.NewRunner(st.RunDir(), w.Snap.Caps())
	if err != nil {
		return nil, err
	}
	if err := runner.Cleanup(ctx); err != nil {
		return nil, err
	}
	if err := st.CleanStale(); err != nil {
		return nil, err
	}
	epoch, err := Epoch(bctx.Root, o.BuildArgs)
	if err != nil {
		return nil, err
	}
	w.Runner, w.Progress, w.Context, w.Epoch = runner, rep, bctx, epoch
	lo := layer.Options{Epoch: epoch, Compression: o.Compression, Level: o.CompressionLevel}
	w.Solver = solver.New(solver.Options{Store: st, Snap: w.Snap, NoCache: o.NoCache, CacheOnly: o.CacheOnly, Layer: lo, Flight: o.Shared.flight(lo),
		KeyEpoch: keyEpoch(o.BuildArgs)})
	w.ExplainCache, w.Network, w.RunOpts = o.Explain, o.Network, o.Run
	w.BuildArgs, w.Secrets, w.SSH = o.BuildArgs, o.Secrets, o.SSH
	w.NoCacheStages = map[string]bool{}
	for _, st := range o.NoCacheFor {
		w.NoCacheStages[strings.ToLower(st)] = true
	}
	for _, v := range o.Secrets {
		rep.Mask(string(v))
	}
	if o.Shared != nil {
		w.StagedContext, w.Cleanup = o.Shared.attach(st, w.Snap, bctx), func() { runner.Wait(); overlay.Wait() }
		return w, nil
	}
	var cleanup func()
	w.StagedContext, cleanup = instr.ContextView(st, w.Snap, bctx)
	w.Cleanup = func() { cleanup(); runner.Wait(); overlay.Wait() }
	if cache, err := fshash.LoadStatCache(st.StatCachePath(bctx.Root)); err == nil {
		bctx.Cache = cache
	}
	bctx.Owners = o.ContextOwners
	return w, nil
}

// contextNames are the --build-context names, for the plan: a stage of one
// of them is replaced by the context.
func contextNames(contexts map[string]string) map[string]bool {
	names := map[string]bool{}
	for k := range contexts {
		names[strings.ToLower(k)] = true
	}
	return names
}
