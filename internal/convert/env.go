package convert

import (
	"bytes"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// env is ENV: each variable set or replaced in the image's env, in order.
func env(s *State, c *instructions.EnvCommand) {
	msg := bytes.NewBufferString("ENV")
	for _, kv := range c.Env {
		s.Img.SetEnv(kv.Key, kv.Value)
		s.Args.EnvSet(kv.Key)
		msg.WriteString(" " + kv.String())
	}
	s.Img.AddHistory(msg.String(), s.Epoch)
}
