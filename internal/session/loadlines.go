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
	// Mounts are parsed when a command is expanded: RUN's are read from a
	// fresh parse (once), expanded with the values as written.
	var fresh []instructions.Stage
	reparse := func() []instructions.Stage {
		if fresh == nil {
			fresh, _, _ = in.df.Reparse()
		}
		return fresh
	}
	for _, p := range in.plans {
		if readsContext(p, reparse) {
			rep.Start("[internal] load build context").Done(nil)
			return
		}
	}
}

// readsContext says whether a stage the target needs reads the build
// context: COPY or ADD of local sources, or a bind mount without from=.
func readsContext(p *plan.Plan, fresh func() []instructions.Stage) bool {
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
				if strings.Contains(c.String(), "--mount") && bindsContext(fresh(), st.Index, i) {
					return true
				}
			}
		}
	}
	return false
}

// bindsContext says whether command i of stage st, a RUN, bind-mounts the
// context; stages are a fresh parse of the Dockerfile.
func bindsContext(stages []instructions.Stage, st, i int) bool {
	if st >= len(stages) || i >= len(stages[st].Commands) {
		return false
	}
	c, ok := stages[st].Commands[i].(*instructions.RunCommand)
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
