package instr

import (
	"context"

	"fmt"

	"github.com/kiln-build/kiln/internal/cachekey"
	"github.com/kiln-build/kiln/internal/progress"
	"github.com/kiln-build/kiln/internal/snapshot"
	"github.com/kiln-build/kiln/internal/solver"
)

// change is a filesystem-changing step: its key, how it is shown and
// recorded, and what it does to a writable mount of the stage's rootfs.
type change struct {
	key     cachekey.Step
	linked  bool   // COPY --link: runs on an empty filesystem, key without parent
	merged  bool   // shown as BuildKit's copy and merge: COPY --link without --chmod
	name    string // progress line, e.g. RUN npm ci
	history string // history created_by
	apply   func(ctx context.Context, m *snapshot.Active, v *progress.Vertex) error
}

// The solver sees a change as an Op.
func (ch change) Name() string                                    { return ch.name }
func (ch change) CacheKey(context.Context) (cachekey.Step, error) { return ch.key, nil }
func (ch change) Linked() bool                                    { return ch.linked }
func (ch change) Exec(ctx context.Context, a *snapshot.Active, v *progress.Vertex) error {
	return ch.apply(ctx, a, v)
}

// commit has the solver answer the step from the cache or run it, then
// appends its layer to the stage.
func (e *Worker) commit(ctx context.Context, s *State, ch change) error {
	v := e.Progress.Start(s.nextLine())
	res, err := e.Solver.Solve(ctx, solver.Request{
		Op:      ch,
		Parent:  solver.Ref{Key: s.Key, Layers: s.Img.Layers, Platform: s.Platform},
		Log:     v,
		NoCache: e.NoCacheStages[s.Stage],
		OnMiss: func(k cachekey.Step) {
			if e.ExplainCache {
				v.Logf("cache miss: %s", e.explainMiss(s, k))
			}
		},
	})
	e.recordKey(s, res.Step)
	if err != nil {
		return &StepError{Stage: s.Stage, Name: ch.name, Err: err, Tail: v.Tail()}
	}
	if ch.merged {
		// BuildKit's COPY --link is a copy onto nothing and a merge onto
		// the stage: the layer stacked here is that second vertex.
		e.Progress.Start(s.againLine("LINK " + s.name)).Done(nil)
	}
	s.Img.AddLayer(res.Layer, ch.history, e.Epoch)
	s.Key = res.Key
	return nil
}

// StepError is a failed step, with the last lines of its output.
type StepError struct {
	Stage string
	Name  string
	Err   error
	Tail  []string
}

func (e *StepError) Error() string {
	return fmt.Sprintf("[%s] %s: %v", e.Stage, e.Name, e.Err)
}

func (e *StepError) Unwrap() error { return e.Err }
