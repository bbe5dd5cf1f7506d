package plan

import (
	"fmt"
	"maps"
	"strings"

	"github.com/containerd/platforms"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-build/kiln/internal/dockerfile"
)

// scratchName is the FROM name of the empty image.
const scratchName = "scratch"

// buildStages makes a Stage of every FROM block and resolves its base, as
// BuildKit's buildDispatchStates: the name is expanded with the global ARGs
// and then looked up, exactly (stage names are lower-cased, the FROM name is
// not), among the stages defined *before* it; no match means an external
// image, or the empty image for "scratch". So `FROM later` and
// `FROM nginx AS nginx` name images.
func (p *Plan) buildStages(stages []instructions.Stage, contexts map[string]bool) error {
	args := envMap(p.GlobalArgs)
	byName := map[string]*Stage{}
	for i, st := range stages {
		s := &Stage{
			Index:    i,
			Name:     st.Name,
			Location: dockerfile.Locate(p.File, st.Location),
			Commands: st.Commands,
			Args:     maps.Clone(args),
			Refs:     map[string]Ref{},
		}
		if err := p.resolveBase(s, st.BaseName, byName); err != nil {
			return err
		}
		if s.Name != "" && contexts[s.Name] {
			// Replaced by the named context (BuildKit's toDispatchState).
			s.Base, s.Deps, s.Commands = Ref{Image: s.Name}, nil, nil
		}
		if err := p.resolvePlatform(s, st.Platform); err != nil {
			return err
		}
		if s.Name != "" {
			// A duplicate name builds, as in BuildKit (the lint rule
			// DuplicateStageName warns): the later stage wins.
			byName[s.Name] = s
		}
		p.Stages = append(p.Stages, s)
	}
	return nil
}

func (p *Plan) resolveBase(s *Stage, baseName string, byName map[string]*Stage) error {
	res, _, err := lex(p.Escape).ProcessWord(baseName, lexEnv(p.GlobalArgs))
	if err != nil {
		return dockerfile.ErrorAt(s.Location, fmt.Errorf("expanding base name: %w", err))
	}
	if res == "" {
		return p.errorAt(s.Location, "base name (%s) should not be blank", baseName)
	}
	if base, ok := byName[res]; ok {
		s.Base = Ref{Stage: base}
		s.Deps = append(s.Deps, base)
		return nil
	}
	if res == scratchName {
		s.Base = Ref{Scratch: true}
		return nil
	}
	if err := validateImage(res); err != nil {
		return dockerfile.ErrorAt(s.Location, err)
	}
	s.Base = Ref{Image: res}
	return nil
}

// resolvePlatform expands and parses FROM --platform. A stage based on a
// stage takes that stage's platform, as BuildKit's dispatchState.init does.
func (p *Plan) resolvePlatform(s *Stage, expr string) error {
	if s.Base.Stage != nil {
		s.Platform = s.Base.Stage.Platform
		return nil
	}
	if expr == "" {
		return nil
	}
	res, _, err := lex(p.Escape).ProcessWord(expr, lexEnv(p.GlobalArgs))
	if err != nil {
		return dockerfile.ErrorAt(s.Location, fmt.Errorf("failed to process arguments for platform %s: %w", expr, err))
	}
	if res == "" {
		return p.errorAt(s.Location, "empty platform value from expression %s", expr)
	}
	plat, err := platforms.Parse(res)
	if err != nil {
		return dockerfile.ErrorAt(s.Location, fmt.Errorf("failed to parse platform %s: %w", expr, err))
	}
	plat = platforms.Normalize(plat)
	s.Platform = &plat
	return nil
}

// validateImage checks an external image reference's syntax.
func validateImage(ref string) error {
	if _, err := name.ParseReference(ref); err != nil {
		return fmt.Errorf("invalid image reference %q: %w", ref, err)
	}
	return nil
}

// resolveTarget finds --target (case-insensitive, as BuildKit), or the last
// stage.
func (p *Plan) resolveTarget(target string) (*Stage, error) {
	if target == "" {
		return p.Stages[len(p.Stages)-1], nil
	}
	for i := len(p.Stages) - 1; i >= 0; i-- { // the later of two same-named stages
		if s := p.Stages[i]; s.Name != "" && s.Name == strings.ToLower(target) {
			return s, nil
		}
	}
	var names []string
	for _, s := range p.Stages {
		if s.Name != "" {
			names = append(names, s.Name)
		}
	}
	return nil, &TargetError{Target: target, Stages: names}
}

// TargetError reports a --target that names no stage.
type TargetError struct {
	Target string
	Stages []string // the named stages, in file order
}

func (e *TargetError) Error() string {
	if len(e.Stages) == 0 {
		return fmt.Sprintf("target stage %q could not be found: the Dockerfile has no named stages", e.Target)
	}
	return fmt.Sprintf("target stage %q could not be found (stages: %s)", e.Target, strings.Join(e.Stages, ", "))
}

// EffectivePlatform is the platform the stage is built for: its Platform,
// or target (Options.TargetPlatform) if that is nil.
func (s *Stage) EffectivePlatform(target ocispecs.Platform) ocispecs.Platform {
	if s.Platform == nil {
		return target
	}
	return *s.Platform
}
