package instr

import (
	"context"
	"fmt"
	"strings"

	"github.com/kiln-build/kiln/internal/dockerfile"
	"github.com/kiln-build/kiln/internal/plan"
)

// runOnbuild runs the ONBUILD triggers the base image carries, before the
// stage's own instructions, and clears them from the new image, as Docker
// and BuildKit do.
func runOnbuild(ctx context.Context, o BuildOptions, st *plan.Stage, s *State) error {
	triggers := s.Img.Config.Config.OnBuild
	if len(triggers) == 0 {
		return nil
	}
	s.Img.Config.Config.OnBuild = nil
	src := "FROM scratch\n" + strings.Join(triggers, "\n") + "\n"
	df, err := dockerfile.Parse("ONBUILD trigger of "+st.Base.String(), []byte(src))
	if err != nil {
		return dockerfile.ErrorAt(st.Location, fmt.Errorf("parsing ONBUILD triggers of the base image: %w", err))
	}
	// BuildKit counts every trigger in the stage's total (after FROM's
	// line was named) and shows the ones that are steps as "ONBUILD RUN …".
	s.steps.Total += len(df.Stages[0].Commands)
	s.steps.OnBuild = true
	defer func() { s.steps.OnBuild = false }()
	for _, cmd := range df.Stages[0].Commands {
		if err := Dispatch(ctx, o.Worker, s, cmd); err != nil {
			return dockerfile.ErrorAt(st.Location, fmt.Errorf("ONBUILD %s: %w", cmd.Name(), err))
		}
	}
	return nil
}
