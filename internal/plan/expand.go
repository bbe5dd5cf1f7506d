package plan

import (
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// lexEnv adapts KEY=VALUE pairs (later wins) to BuildKit's shell.EnvGetter.
func lexEnv(env []string) shell.EnvGetter {
	return shell.EnvsFromSlice(env)
}
