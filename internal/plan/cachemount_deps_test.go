package plan

import "testing"

// A cache mount's from= is a stage dependency like a bind mount's: --target
// builds the seed stage and prunes the stages nothing needs.
func TestCacheMountFromIsADependency(t *testing.T) {
	src := `FROM alpine AS seed
FROM alpine AS unneeded
FROM alpine AS app
RUN --mount=type=cache,from=seed,source=/deps,target=/root/.npm true
FROM app AS final
`
	p := mustPlan(t, src, opts("app", nil))
	if names(p.Order) != "seed,app" {
		t.Errorf("Order %s, want seed,app", names(p.Order))
	}
	if r := p.Target.Refs["seed"]; r.Stage == nil || r.Stage.DisplayName() != "seed" {
		t.Errorf("Refs[seed] %+v", r)
	}
}
