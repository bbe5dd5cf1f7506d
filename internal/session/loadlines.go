package session

import (
	"path/filepath"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"

	"github.com/kiln-build/kiln/internal/plan"
	"github.com/kiln-build/kiln/internal/progress"
)

// loadLines shows what prepare loaded as BuildKit's Dockerfile frontend
// names it: the Dockerfile, .dockerignore, and the build context when a
// stage that is built reads it.
func loadLines(rep *progress.Reporter, in *planned) {
	rep.Start("[internal] load build definition from " + filepath.Base(in.bctx.DockerfileName)).Done(nil)
	rep.Start("[internal] load .dockerignore").Done(nil)
	for _, p := range in.plans {
		if readsContext(p) {
			rep.Start("[internal] load build context").Done(nil)
			return
		}
	}
}

// readsContext says whether a stage the target needs reads the build
// context: COPY or ADD of local sources, or a bind mount without from=.
func readsContext(p *plan.Plan) bool {
	for _, st := range p.Order {
		for i, cmd := range st.Commands {
			switch c := cmd.(type) {
			case *instructions.CopyCommand:
				if c.From == "" && len(c.SourcePaths) > 0 {
					return true
				}
			case *instructions.AddCommand:
				for _, src := range c.SourcePaths {
					if !strings.Contains(src, "://") && !strings.HasPrefix(src, "git@") {
						return true
					}
				}
			case *instructions.RunCommand:
				if strings.Contains(c.String(), "--mount") && bindsContext(p, st, i) {
					return true
				}
			}
		}
	}
	return false
}

// bindsContext says whether the stage's command i, a RUN, bind-mounts the
// context. Mounts are parsed when a command is expanded: a fresh copy is,
// with the values as written.
func bindsContext(p *plan.Plan, st *plan.Stage, i int) bool {
	cmds, err := p.Instructions(st)
	if err != nil {
		return false
	}
	c, ok := cmds[i].(*instructions.RunCommand)
	if !ok || c.Expand(func(w string) (string, error) { return w, nil }) != nil {
		return false
	}
	for _, m := range instructions.GetMounts(c) {
		if m.Type == instructions.MountTypeBind && m.From == "" {
			return true
		}
	}
	return false
}
