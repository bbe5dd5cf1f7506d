package convert

import (
	"fmt"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// healthcheck is HEALTHCHECK (NONE included: a test of ["NONE"]).
func healthcheck(s *State, c *instructions.HealthCheckCommand) {
	h := *c.Health
	h.Test = append([]string(nil), h.Test...)
	s.Img.Config.Config.Healthcheck = &h
	s.Img.AddHistory(fmt.Sprintf("HEALTHCHECK %+v", h), s.Epoch)
}
