package instr

import (
	"github.com/moby/buildkit/frontend/dockerfile/instructions"

	"github.com/kiln-build/kiln/internal/dockerfile"
	"github.com/kiln-build/kiln/internal/plan"
)

// locate ties a step's error to the Dockerfile line of its instruction.
func locate(st *plan.Stage, cmd instructions.Command, err error) error {
	return dockerfile.ErrorAt(dockerfile.Locate(st.Location.File, cmd.Location()), err)
}
