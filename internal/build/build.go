package build

import (
	"context"
	"fmt"
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
	"github.com/kiln-build/kiln/internal/plan"
	"github.com/kiln-build/kiln/internal/progress"
	"github.com/kiln-build/kiln/internal/registry"
	"github.com/kiln-build/kiln/internal/solver"
	"github.com/kiln-build/kiln/internal/store"
)

// Result is what a build made.
type Result struct {
	Descriptor ocispec.Descriptor // the image manifest in the store
	Image      *image.Image
}

// Run performs the build.
func Run(ctx context.Context, o Options) (*Result, error) {
	bctx, err := buildctx.Load(o.ContextDir, o.Dockerfile)
	if err != nil {
		return nil, err
	}
	src, err := os.ReadFile(bctx.Dockerfile)
	if err != nil {
		return nil, fmt.Errorf("reading Dockerfile: %w", err)
	}
	df, err := dockerfile.Parse(bctx.DockerfileName, src)
	if err != nil {
		return nil, err
	}
	host := platforms.Normalize(platforms.DefaultSpec())
	p, err := plan.New(df, plan.Options{Target: o.Target, BuildArgs: o.BuildArgs, BuildPlatform: host, TargetPlatform: host})
	if err != nil {
		return nil, err
	}
	rep, err := progress.New(o.Out, o.Progress)
	if err != nil {
		return nil, err
	}
	for _, w := range df.Warnings {
		rep.Warn("%s: %s: %s", w.Location, w.Rule, w.Message)
	}
	for _, a := range p.UnusedBuildArgs {
		rep.Warn("build argument %q was not consumed by any stage", a)
	}
	env, err := newEnv(ctx, o, bctx, rep)
	if err != nil {
		return nil, err
	}
	cfg, err := config.Load(o.ConfigPath)
	if err != nil {
		return nil, err
	}
	client := registry.New(cfg)
	res := &resolver{store: env.Store, client: client, rep: rep, pull: o.Pull, pulled: map[string]*pullOnce{}}
	img, err := solver.Build(ctx, solver.Options{
		Env: env, Plan: p, Platform: host,
		Images: res.image,
	})
	if err != nil {
		return nil, err
	}
	result, err := finish(ctx, o, env, img, client)
	if err == nil {
		// Best effort: a lost stat cache only costs re-reading files.
		_ = bctx.Cache.Save(env.Store.StatCachePath(bctx.Root))
	}
	return result, err
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
	runner, err := executor.NewRunner(st.RunDir())
	if err != nil {
		return nil, err
	}
	if err := runner.Cleanup(ctx); err != nil {
		return nil, err
	}
	epoch, err := Epoch(bctx.Root, o.BuildArgs)
	if err != nil {
		return nil, err
	}
	env := &instr.Env{
		Store: st, Runner: runner, Progress: rep, Context: bctx, Epoch: epoch,
		Layer: layer.Options{Epoch: epoch}, NoCache: o.NoCache, Network: o.Network,
		BuildArgs: o.BuildArgs, Secrets: o.Secrets,
	}
	env.NoCacheStages = map[string]bool{}
	for _, st := range o.NoCacheFor {
		env.NoCacheStages[strings.ToLower(st)] = true
	}
	for _, v := range o.Secrets {
		rep.Mask(string(v))
	}
	env.StagedContext = stageOnce(st, bctx)
	if cache, err := fshash.LoadStatCache(st.StatCachePath(bctx.Root)); err == nil {
		bctx.Cache = cache
	}
	return env, nil
}

// stageOnce materializes the filtered context the first time a COPY needs it.
func stageOnce(st *store.Store, bctx *buildctx.Context) func(context.Context) (string, error) {
	var once sync.Once
	var dir string
	var err error
	return func(ctx context.Context) (string, error) {
		once.Do(func() {
			var tmp string
			if tmp, err = st.TempDir("context"); err != nil {
				return
			}
			dir = tmp
			err = bctx.Stage(ctx, dir)
		})
		return dir, err
	}
}
