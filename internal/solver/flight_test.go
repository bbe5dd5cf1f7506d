package solver

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/kiln-build/kiln/internal/progress"
)

// Solvers of several builds sharing a Flight (bake's targets) run a step
// they ask for at once once, and their progress says who ran it.
func TestSharedFlightAcrossSolvers(t *testing.T) {
	f := newFixture(t, false)
	var out bytes.Buffer
	rep, _ := progress.New(&out, "plain")
	flight := &Flight{}
	op := &fakeOp{name: "shared", files: map[string]string{"x": "y"}, gate: make(chan struct{})}
	const n = 3
	var missed sync.WaitGroup
	missed.Add(n)
	solvers := make([]*Solver, n)
	for i := range solvers {
		solvers[i] = New(Options{Store: f.st, Snap: f.snap, Flight: flight})
		solvers[i].missed = missed.Done
	}
	var wg sync.WaitGroup
	for i, s := range solvers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.Solve(context.Background(), Request{Op: op, Parent: root, Log: rep.WithPrefix(string(rune('a' + i))).Start("RUN shared")}); err != nil {
				t.Error(err)
			}
		}()
	}
	missed.Wait()
	close(op.gate)
	wg.Wait()
	if got := op.execs.Load(); got != 1 {
		t.Fatalf("op ran %d times for %d solvers sharing a flight, want once", got, n)
	}
	// A request that joins after the run ended finds it in the store.
	ran := strings.Count(out.String(), "ran once for several targets")
	waited := strings.Count(out.String(), "done once by another target's identical step") + strings.Count(out.String(), "CACHED")
	if ran > 1 || waited != n-1 {
		t.Errorf("progress says %d ran and %d waited or hit the cache, want 1 and %d:\n%s", ran, waited, n-1, out.String())
	}
	// Without a shared flight, each solver runs it (the store then has it).
	lone := &fakeOp{name: "lone", files: map[string]string{"x": "z"}}
	for _, s := range []*Solver{New(Options{Store: f.st, Snap: f.snap}), New(Options{Store: f.st, Snap: f.snap})} {
		if _, err := s.Solve(context.Background(), Request{Op: lone, Parent: root, Log: rep.Start("RUN lone")}); err != nil {
			t.Fatal(err)
		}
	}
	if got := lone.execs.Load(); got != 1 {
		t.Errorf("a step already in the store ran %d times, want once", got)
	}
}
