package plan

import (
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// checkCycles rejects stages that need themselves through COPY --from or
// RUN --mount=from=, for every stage, reachable or not, as BuildKit's
// validateCircularDependency: "circular dependency detected on stage: X"
// located at the first command of the cycle. FROM edges are not followed,
// like BuildKit (a FROM can only name an earlier stage).
func (p *Plan) checkCycles() error {
	visited := map[*Stage]bool{}
	onPath := map[*Stage]bool{}
	var visit func(s *Stage, path []edge) []edge
	visit = func(s *Stage, path []edge) []edge {
		if visited[s] {
			return nil
		}
		visited[s] = true
		onPath[s] = true
		for _, e := range p.commandEdges(s) {
			next := append(path[:len(path):len(path)], e)
			if onPath[e.to] {
				return next
			}
			if c := visit(e.to, next); c != nil {
				return c
			}
		}
		onPath[s] = false
		return nil
	}
	for _, s := range p.Stages {
		if cycle := visit(s, nil); cycle != nil {
			return p.errorAt(cycle[0].loc, "circular dependency detected on stage: %s", s.DisplayName())
		}
	}
	return nil
}

// order computes the stages the target needs and checks that each uses only
// stages defined before it. BuildKit dispatches the needed stages in file
// order and fails a COPY --from or RUN --mount=from= whose stage is not yet
// dispatched, so the needed stages in file order are a topological order.
// Unneeded stages are never checked (BuildKit never dispatches them).
func (p *Plan) order() error {
	needed := map[*Stage]bool{}
	var mark func(s *Stage)
	mark = func(s *Stage) {
		if needed[s] {
			return
		}
		needed[s] = true
		for _, d := range s.Deps {
			mark(d)
		}
	}
	mark(p.Target)
	for _, s := range p.Stages {
		if !needed[s] {
			p.Pruned = append(p.Pruned, s)
			continue
		}
		for _, e := range p.commandEdges(s) {
			if e.to.Index > s.Index {
				return p.forwardRefError(s, e)
			}
		}
		p.Order = append(p.Order, s)
	}
	return nil
}

// forwardRefError words BuildKit's errors for a use of a later stage.
func (p *Plan) forwardRefError(s *Stage, e edge) error {
	if c, ok := e.cmd.(*instructions.CopyCommand); ok {
		return p.errorAt(e.loc, "cannot copy from stage %q, it needs to be defined before current stage %q", c.From, s.DisplayName())
	}
	return p.errorAt(e.loc, "cannot use stage %q in RUN --mount, it needs to be defined before current stage %q", e.to.DisplayName(), s.DisplayName())
}
