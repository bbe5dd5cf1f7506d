package instr

import (
	"context"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"

	"github.com/kiln-build/kiln/internal/convert"
	"github.com/kiln-build/kiln/internal/dockerfile"
	"github.com/kiln-build/kiln/internal/plan"
)

// namedContext resolves a name FROM or COPY --from uses through
// --build-context: an image reference for the resolver (docker-image://
// stripped, oci-layout:// kept), or a local directory. A name without a
// context is the image reference ref.
func (o BuildOptions) namedContext(name, ref string) (string, *LocalDir) {
	c, ok := o.Contexts[strings.ToLower(name)]
	if !ok {
		return ref, nil
	}
	if ref, ok := strings.CutPrefix(c, "docker-image://"); ok {
		return ref, nil
	}
	if strings.HasPrefix(c, "oci-layout://") {
		return c, nil
	}
	return name, o.Locals[strings.ToLower(name)]
}

// fromLocal gives a stage based on a directory context (FROM name with
// --build-context name=DIR) that directory as its first layer, as BuildKit
// uses the local source as the stage's filesystem: root-owned files, the
// directory's .dockerignore applied, the empty image config of scratch.
func fromLocal(ctx context.Context, o BuildOptions, st *plan.Stage, s *State) error {
	if st.Base.Stage != nil || st.Base.Scratch {
		return nil
	}
	if _, local := o.namedContext(st.Base.Image, st.Base.Image); local == nil {
		return nil
	}
	s.Step = 1
	cp := &instructions.CopyCommand{
		SourcesAndDest: instructions.SourcesAndDest{SourcePaths: []string{"/"}, DestPath: "/"},
		From:           st.Base.Image,
	}
	spec, err := convert.CopyOf(&s.State, cp)
	if err == nil {
		s.name = "FROM " + st.Base.Image
		err = runCopy(ctx, o.Worker, s, cp, spec)
	}
	if err != nil {
		return dockerfile.ErrorAt(st.Location, err)
	}
	return nil
}
