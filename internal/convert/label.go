package convert

import (
	"bytes"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// label is LABEL: each label set or replaced.
func label(s *State, c *instructions.LabelCommand) {
	cfg := &s.Img.Config.Config
	if cfg.Labels == nil {
		cfg.Labels = map[string]string{}
	}
	msg := bytes.NewBufferString("LABEL")
	for _, kv := range c.Labels {
		cfg.Labels[kv.Key] = kv.Value
		msg.WriteString(" " + kv.String())
	}
	s.Img.AddHistory(msg.String(), s.Epoch)
}
