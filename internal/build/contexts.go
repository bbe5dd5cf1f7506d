package build

import (
	"strings"

	"github.com/kiln-build/kiln/internal/buildctx"
	"github.com/kiln-build/kiln/internal/instr"
	"github.com/kiln-build/kiln/internal/snapshot"
	"github.com/kiln-build/kiln/internal/store"
)

// localContexts loads every directory --build-context with its own
// .dockerignore and stat cache; each gets a read-only view, made the first
// time a step reads it and removed by the returned release.
func localContexts(st *store.Store, snap snapshot.Snapshotter, contexts map[string]string) (map[string]*instr.LocalDir, func(), error) {
	locals := map[string]*instr.LocalDir{}
	var releases []func()
	release := func() {
		for _, r := range releases {
			r()
		}
	}
	for name, value := range contexts {
		if strings.Contains(value, "://") {
			continue
		}
		c, err := buildctx.LoadDir(value)
		if err != nil {
			release()
			return nil, nil, err
		}
		view, cleanup := stageOnce(st, snap, c)
		releases = append(releases, cleanup)
		locals[name] = &instr.LocalDir{Context: c, View: view}
	}
	return locals, release, nil
}
