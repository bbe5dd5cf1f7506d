package convert

import (
	"fmt"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// volume is VOLUME: mount points in the config; an empty one is an error.
func volume(s *State, c *instructions.VolumeCommand) error {
	cfg := &s.Img.Config.Config
	if cfg.Volumes == nil {
		cfg.Volumes = map[string]struct{}{}
	}
	for _, v := range c.Volumes {
		if v == "" {
			return fmt.Errorf("VOLUME specified can not be an empty string")
		}
		cfg.Volumes[v] = struct{}{}
	}
	s.Img.AddHistory(fmt.Sprintf("VOLUME %v", c.Volumes), s.Epoch)
	return nil
}
