package build

import (
	"context"
	"path/filepath"

	digest "github.com/opencontainers/go-digest"
	"golang.org/x/sync/errgroup"
	"os"
	"strings"
	"sync"

	"github.com/containerd/platforms"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-build/kiln/internal/buildctx"
	"github.com/kiln-build/kiln/internal/config"
	"github.com/kiln-build/kiln/internal/dockerfile"
	"github.com/kiln-build/kiln/internal/executor"
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
	Image      *image.Image       // the first platform's image
	Images     []*image.Image     // one per platform, in --platform order
}

// Run performs the build.
func Run(ctx context.Context, o Options) (*Result, error) {
	// Cancelled on return: releases the store lock and anything else tied to ctx.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	bctx, err := buildctx.Load(o.ContextDir, o.Dockerfile)
	if err != nil {
		return nil, err
	}
	df, err := parseDockerfile(bctx)
	if err != nil {
		return nil, err
	}
	targets, err := targetPlatforms(o.Platforms)
	if err != nil {
		return nil, err
	}
	plans, err := makePlans(df, o, targets)
	if err != nil {
		return nil, err
	}
	rep, err := progress.New(o.Out, o.Progress)
	if err != nil {
		return nil, err
	}
	defer rep.Close()
	warn(rep, df, bctx, plans[0], o, targets[0])
	env, err := newEnv(ctx, o, bctx, rep)
	if err != nil {
		return nil, err
	}
	defer env.Cleanup()
	cfg, err := config.Load(o.ConfigPath)
	if err != nil {
		return nil, err
	}
	client := registry.New(cfg)
	res := &resolver{store: env.Store, client: client, rep: rep, pull: o.Pull, pulled: map[string]*pullOnce{}}
	importCaches(ctx, env, client, o.CacheFrom)
	steps := &stepLog{seen: map[digest.Digest]bool{}}
	env.Record, env.RecordSource = steps.record, steps.recordSource
	sizes := &stageSizes{sizes: map[*plan.Stage]int64{}}
	locals, releaseLocals, err := localContexts(env.Store, o.Contexts)
	if err != nil {
		return nil, err
	}
	defer releaseLocals()
	common := solver.Options{Env: env, Images: res.image, Contexts: o.Contexts, Locals: locals}
	images, err := solveAll(ctx, common, plans, targets, sizes)
	if err != nil {
		return nil, err
	}
	if o.Report {
		report(rep, plans[0], images[0], sizes)
	}
	for _, img := range images {
		for _, l := range img.Layers {
			if err := env.EnsureBlob(ctx, l); err != nil {
				return nil, err
			}
		}
	}
	result, err := finish(ctx, finishing{o: o, env: env, client: client, steps: steps}, images)
	if err == nil {
		err = exportCaches(ctx, env, client, o.CacheTo, steps, images)
	}
	if err == nil {
		// Best effort: a lost stat cache only costs re-reading files.
		_ = bctx.Cache.Save(env.Store.StatCachePath(bctx.Root))
	}
	return result, err
}

func parseDockerfile(bctx *buildctx.Context) (*dockerfile.Dockerfile, error) {
	src, err := buildctx.ReadDockerfile(bctx.Dockerfile, bctx.DockerfileName)
	if err != nil {
		return nil, err
	}
	return dockerfile.Parse(bctx.DockerfileName, src)
}

// makePlans plans the build once per target platform: the predefined
// TARGET* args differ, and each plan expands its own copy of the commands.
func makePlans(df *dockerfile.Dockerfile, o Options, targets []ocispec.Platform) ([]*plan.Plan, error) {
	host := platforms.Normalize(platforms.DefaultSpec())
	plans := make([]*plan.Plan, len(targets))
	for i, t := range targets {
		p, err := plan.New(df, plan.Options{Target: o.Target, BuildArgs: o.BuildArgs, BuildPlatform: host, TargetPlatform: t})
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
	lo := lint.Options{Ignore: bctx.Ignore, BuildArgs: o.BuildArgs, Platform: &target,
		BaseEnv: lint.StoreEnv(storeRoot(o)).WithContexts(o.Contexts)}
	for _, f := range lint.CheckWith(df, lo) {
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
func solveAll(ctx context.Context, common solver.Options, plans []*plan.Plan, targets []ocispec.Platform, sizes *stageSizes) ([]*image.Image, error) {
	images := make([]*image.Image, len(plans))
	g, gctx := errgroup.WithContext(ctx)
	for i := range plans {
		i := i
		g.Go(func() error {
			opts := common
			opts.Plan, opts.Platform = plans[i], targets[i]
			if i == 0 {
				opts.StageDone = sizes.done
			}
			img, err := solver.Build(gctx, opts)
			images[i] = img
			return err
		})
	}
	return images, g.Wait()
}

func newEnv(ctx context.Context, o Options, bctx *buildctx.Context, rep *progress.Reporter) (*instr.Env, error) {
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
	runner, err := executor.NewRunner(st.RunDir())
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
	env := &instr.Env{
		Store: st, Runner: runner, Progress: rep, Context: bctx, Epoch: epoch,
		Layer: layer.Options{Epoch: epoch, Compression: o.Compression, Level: o.CompressionLevel}, NoCache: o.NoCache, ExplainCache: o.Explain, Network: o.Network, RunOpts: o.Run,
		BuildArgs: o.BuildArgs, Secrets: o.Secrets, SSH: o.SSH,
	}
	env.NoCacheStages = map[string]bool{}
	for _, st := range o.NoCacheFor {
		env.NoCacheStages[strings.ToLower(st)] = true
	}
	for _, v := range o.Secrets {
		rep.Mask(string(v))
	}
	env.StagedContext, env.Cleanup = stageOnce(st, bctx)
	if cache, err := fshash.LoadStatCache(st.StatCachePath(bctx.Root)); err == nil {
		bctx.Cache = cache
	}
	return env, nil
}

// stageOnce makes, the first time a COPY needs it, a read-only view of the
// context minus ignored files: an overlay of whiteouts over the context
// itself (nothing copied, the context's inodes untouched), or a staged copy
// where overlayfs refuses the context's filesystem. cleanup removes it.
func stageOnce(st *store.Store, bctx *buildctx.Context) (func(context.Context) (string, error), func()) {
	var once sync.Once
	var view string
	var release func()
	var err error
	cleanup := func() {
		once.Do(func() {}) // no staging may start after cleanup
		if release != nil {
			release()
		}
	}
	return func(ctx context.Context) (string, error) {
		once.Do(func() {
			view, release, err = contextView(ctx, st, bctx)
		})
		return view, err
	}, cleanup
}

func contextView(ctx context.Context, st *store.Store, bctx *buildctx.Context) (string, func(), error) {
	tmp, err := st.TempDir("context")
	if err != nil {
		return "", nil, err
	}
	wh, target := filepath.Join(tmp, "wh"), filepath.Join(tmp, "view")
	if err := os.Mkdir(target, 0o755); err != nil {
		return "", nil, err
	}
	if err := bctx.Whiteouts(ctx, wh); err != nil {
		os.RemoveAll(tmp)
		return "", nil, err
	}
	m, err := snapshot.MountOverlay(snapshot.Options{Lowers: []string{wh}, Empty: bctx.Root, Target: target})
	if err == nil {
		return target, func() { m.Unmount(); os.RemoveAll(tmp) }, nil
	}
	staged := filepath.Join(tmp, "staged")
	if err := bctx.Stage(ctx, staged); err != nil {
		os.RemoveAll(tmp)
		return "", nil, err
	}
	return staged, func() { os.RemoveAll(tmp) }, nil
}
