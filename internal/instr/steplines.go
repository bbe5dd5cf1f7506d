package instr

import (
	"slices"
	"strings"
	"sync"

	"github.com/containerd/platforms"
	"github.com/distribution/reference"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-build/kiln/internal/convert"
	"github.com/kiln-build/kiln/internal/plan"
)

// inlineDocumentLine is BuildKit's vertex that writes a heredoc's file.
const inlineDocumentLine = "[internal] preparing inline document"

// lineOnce shows each progress line once a build session: BuildKit merges
// identical vertices (the same base image of several stages or target
// platforms) into one, named by the first.
type lineOnce struct {
	mu   sync.Mutex
	seen map[string]bool
}

func (l *lineOnce) first(line string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen == nil {
		l.seen = map[string]bool{}
	}
	if l.seen[line] {
		return false
	}
	l.seen[line] = true
	return true
}

// normalizedRef is how BuildKit names an image: docker.io/library/busybox:latest.
func normalizedRef(ref string) reference.Named {
	n, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return nil
	}
	return reference.TagNameOnly(n)
}

// fromLine is a FROM step's name: the normalized reference and the digest
// it resolved to.
func fromLine(ref string, resolved digest.Digest) string {
	n := normalizedRef(ref)
	if n == nil {
		return "FROM " + ref
	}
	if resolved != "" {
		if d, err := reference.WithDigest(n, resolved); err == nil {
			return "FROM " + d.String()
		}
	}
	return "FROM " + n.String()
}

// metadataLine is the resolution of a base image's config, once per
// reference and platform.
func metadataLine(ref string, p ocispec.Platform, multi bool) string {
	name := ref
	if n := normalizedRef(ref); n != nil {
		name = n.String()
	}
	prefix := "["
	if multi {
		prefix += platforms.FormatAll(p) + " "
	}
	return prefix + "internal] load metadata for " + name
}

// stepsOf starts a stage's numbering: BuildKit leaves the stage name out
// when its dispatch has a single state.
func stepsOf(pl *plan.Plan, st *plan.Stage) convert.Steps {
	fromImage := !st.Base.Scratch && st.Base.Stage == nil
	s := convert.Steps{Stage: st.DisplayName(), Total: convert.StepTotal(fromImage, st.Commands)}
	if len(pl.Stages) == 1 && !namesOtherSources(st) {
		s.Stage = ""
	}
	return s
}

// namesOtherSources says whether the (only) stage has BuildKit add a state
// of its own: for COPY --from an image, and for every RUN mount not from
// this stage (a mount without from= is one of scratch).
func namesOtherSources(st *plan.Stage) bool {
	self := func(name string) bool { return name == "0" || st.Name != "" && strings.EqualFold(name, st.Name) }
	for _, cmd := range st.Commands {
		switch c := cmd.(type) {
		case *instructions.CopyCommand:
			if c.From != "" && !self(c.From) {
				return true
			}
		case *instructions.RunCommand:
			for _, m := range instructions.GetMounts(c) {
				if !self(m.From) || m.From == "0" {
					return true
				}
			}
		}
	}
	return false
}

// fromShown is, per stage, whether it names its base image's FROM line:
// of the stages built from one image on one platform, the first in the
// Dockerfile does.
func fromShown(pl *plan.Plan, target ocispec.Platform) map[*plan.Stage]bool {
	shown := map[*plan.Stage]bool{}
	seen := map[string]bool{}
	for _, st := range pl.Stages {
		if st.Base.Scratch || st.Base.Stage != nil || !slices.Contains(pl.Order, st) {
			continue
		}
		p := target
		if st.Platform != nil {
			p = *st.Platform
		}
		k := st.Base.Image + "\x00" + platforms.Format(p)
		shown[st] = !seen[k]
		seen[k] = true
	}
	return shown
}
