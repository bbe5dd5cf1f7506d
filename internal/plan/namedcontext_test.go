package plan

import "testing"

// A --build-context named as a stage replaces it, as in BuildKit: the
// stage has no instructions and no dependencies, and its base is the
// context; the stages it needed are not built.
func TestNamedContextReplacesStage(t *testing.T) {
	src := `FROM alpine AS tools
RUN echo tools > /t
FROM golang AS base
COPY --from=tools /t /t
RUN go version
FROM base
RUN echo final
`
	o := opts("", nil)
	o.Contexts = map[string]bool{"base": true}
	p := mustPlan(t, src, o)
	base := p.Stages[1]
	if base.Base.Image != "base" || base.Base.Stage != nil || len(base.Deps) != 0 {
		t.Errorf("replaced stage: base %v, deps %d; want the context base, none", base.Base, len(base.Deps))
	}
	if cmds, err := p.Instructions(base); err != nil || len(cmds) != 0 {
		t.Errorf("replaced stage's instructions: %d (%v), want none", len(cmds), err)
	}
	var order []string
	for _, s := range p.Order {
		order = append(order, s.DisplayName())
	}
	if len(order) != 2 || order[0] != "base" || order[1] != "stage-2" {
		t.Errorf("order %v, want [base stage-2] (tools is not needed)", order)
	}
	if p.Stages[2].Base.Stage != base {
		t.Errorf("FROM base is %v, want the replaced stage", p.Stages[2].Base)
	}
}
