package instr

import (
	"context"
	"fmt"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/kiln-build/kiln/internal/buildctx"
	"github.com/kiln-build/kiln/internal/executor"
	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/progress"
	"github.com/kiln-build/kiln/internal/snapshot"
	"github.com/kiln-build/kiln/internal/solver"
	"github.com/kiln-build/kiln/internal/store"
)

// Worker is what a build's instructions may use: the session's services
// (store, snapshotter, solver, runner, progress, context views) and its
// settings, one per build session, shared by its stages and platforms.
type Worker struct {
	Store        *store.Store
	Snap         snapshot.Snapshotter // root filesystems, layers and cache mounts
	Runner       *executor.Runner
	Progress     *progress.Reporter
	Context      *buildctx.Context
	Epoch        time.Time
	Solver       *solver.Solver // the cache: lookups, remote caches, dedup, commit
	ExplainCache bool           // say, for each miss, which input changed
	// NoCacheStages lists stages (by name, or stage-N) rebuilt without the
	// cache: --no-cache-filter.
	NoCacheStages map[string]bool
	Network       string            // --network: default, host, none
	RunOpts       RunOptions        // --add-host, --shm-size, --ulimit
	BuildArgs     map[string]string // --build-arg values
	Secrets       map[string][]byte // --secret values by id; kept in memory only
	SSH           map[string]string // --ssh agent sockets by id

	// StagedContext returns a directory holding the context minus ignored
	// files, made once per build on the first COPY that misses the cache.
	StagedContext func(ctx context.Context) (string, error)
	Cleanup       func() // removes what StagedContext made
	// StepsDone, when set, gives back what steps kept between them (a lent
	// container root): the build calls it once no step is left.
	StepsDone func()

	lines lineOnce // progress lines merged as BuildKit merges vertices
}

// RunOptions are build-wide settings of every RUN container.
type RunOptions struct {
	ExtraHosts []string
	ShmSize    int64
	Ulimits    []specs.POSIXRlimit
	// Allow holds the entitlements granted with --allow (network.host,
	// security.insecure); the build's own --network=host grants network.host.
	Allow map[string]bool
}

// Named is the filesystem a COPY --from or a mount names.
type Named struct {
	Name  string       // as the Dockerfile wrote it
	Image *image.Image // a stage's result or an external image
	Local *LocalDir    // or a local directory (--build-context name=DIR)
}

// LocalDir is a named local context: like the build context, read with its
// own .dockerignore, through a view without the ignored files, and copied
// as root's files.
type LocalDir struct {
	Context *buildctx.Context
	View    func(ctx context.Context) (string, error)
}

// keyOptions is the part of RunOptions that shapes a RUN's result.
func (o RunOptions) keyOptions() []string {
	var out []string
	for _, h := range o.ExtraHosts {
		out = append(out, "add-host="+h)
	}
	if o.ShmSize > 0 {
		out = append(out, fmt.Sprintf("shm-size=%d", o.ShmSize))
	}
	for _, u := range o.Ulimits {
		out = append(out, fmt.Sprintf("ulimit=%s=%d:%d", u.Type, u.Soft, u.Hard))
	}
	return out
}
