package convert

import (
	"fmt"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// stopSignal is STOPSIGNAL.
func stopSignal(s *State, c *instructions.StopSignalCommand) {
	s.Img.Config.Config.StopSignal = c.Signal
	s.Img.AddHistory(fmt.Sprintf("STOPSIGNAL %v", c.Signal), s.Epoch)
}
