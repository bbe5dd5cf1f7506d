package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/containerd/platforms"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-build/kiln/internal/dockerfile"
	"github.com/kiln-build/kiln/internal/plan"
)

// graphJSON is `kiln graph --format json`: the stage DAG an orchestrator
// (a CI matrix, Argo, Tekton) schedules from. Stages are in file order;
// deps name the stages a stage needs; a stage is pruned when no target
// needs it on any platform.
type graphJSON struct {
	File          string        `json:"file"`
	BuildPlatform string        `json:"buildPlatform"`
	Targets       []graphTarget `json:"targets"`
	Stages        []graphStage  `json:"stages"`
}

type graphTarget struct {
	Name      string   `json:"name"`
	Stage     int      `json:"stage"`
	Platforms []string `json:"platforms"` // the platforms it is built for (--platform)
}

type graphStage struct {
	Index     int    `json:"index"`
	Name      string `json:"name"` // the AS name, or stage-N
	Line      int    `json:"line"` // of its FROM
	From      string `json:"from"` // an image, "scratch", or a stage's name
	FromStage *int   `json:"fromStage,omitempty"`
	// Deps are the stages this one needs (FROM, COPY --from, RUN
	// --mount=from=), by index; an orchestrator runs them first.
	Deps   []int    `json:"deps"`
	Images []string `json:"images"` // external images of COPY --from and RUN --mount=from=
	// Platforms this stage is built for, over every target and target
	// platform that needs it: a FROM --platform=$BUILDPLATFORM stage is
	// built once, for the build platform.
	Platforms []string `json:"platforms"`
	// Depth is the longest chain of deps below it: the stages of one depth
	// never need each other.
	Depth  int  `json:"depth"`
	Pruned bool `json:"pruned"`
}

// graphOptions are the graph command's settings.
type graphOptions struct {
	targets   []string // "" is the last stage
	buildArgs map[string]string
	platforms []ocispec.Platform
	host      ocispec.Platform
}

// buildGraph plans df for every target and platform and merges the plans.
func buildGraph(df *dockerfile.Dockerfile, o graphOptions) (*graphJSON, error) {
	g := &graphJSON{File: df.Name, BuildPlatform: platforms.Format(o.host)}
	stagePlatforms := map[int][]string{}
	var first *plan.Plan
	for _, target := range o.targets {
		var gt *graphTarget
		for _, tp := range o.platforms {
			p, err := plan.New(df, plan.Options{Target: target, BuildArgs: o.buildArgs, BuildPlatform: o.host, TargetPlatform: tp})
			if err != nil {
				return nil, err
			}
			if first == nil {
				first = p
			}
			if gt == nil {
				g.Targets = append(g.Targets, graphTarget{Name: p.Target.DisplayName(), Stage: p.Target.Index})
				gt = &g.Targets[len(g.Targets)-1]
			}
			gt.Platforms = append(gt.Platforms, platforms.Format(tp))
			for _, s := range p.Order {
				stagePlatforms[s.Index] = appendNew(stagePlatforms[s.Index], platforms.Format(s.EffectivePlatform(tp)))
			}
		}
	}
	for _, s := range first.Stages {
		gs := graphStage{Index: s.Index, Name: s.DisplayName(), Line: s.Location.Line, From: fromName(s),
			Deps: []int{}, Images: append([]string{}, s.Images...), Platforms: stagePlatforms[s.Index]}
		if s.Base.Stage != nil {
			gs.FromStage = &s.Base.Stage.Index
		}
		for _, d := range s.Deps {
			gs.Deps = append(gs.Deps, d.Index)
			gs.Depth = max(gs.Depth, g.Stages[d.Index].Depth+1)
		}
		gs.Pruned = gs.Platforms == nil
		if gs.Pruned {
			gs.Platforms = []string{}
		}
		slices.Sort(gs.Platforms)
		g.Stages = append(g.Stages, gs)
	}
	return g, nil
}

func fromName(s *plan.Stage) string {
	switch {
	case s.Base.Stage != nil:
		return s.Base.Stage.DisplayName()
	case s.Base.Scratch:
		return "scratch"
	}
	return s.Base.Image
}

func appendNew(list []string, v string) []string {
	if slices.Contains(list, v) {
		return list
	}
	return append(list, v)
}

func writeJSON(w io.Writer, g *graphJSON) error {
	data, err := json.MarshalIndent(g, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", data)
	return err
}

// graphPlatforms parses --platform values (comma lists); none is the host.
func graphPlatforms(values []string, host ocispec.Platform) ([]ocispec.Platform, error) {
	var out []ocispec.Platform
	for _, v := range values {
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s == "" {
				continue
			}
			p, err := platforms.Parse(s)
			if err != nil {
				return nil, usageError{fmt.Errorf("invalid --platform %q: %w", s, err)}
			}
			p = platforms.Normalize(p)
			if !slices.ContainsFunc(out, func(q ocispec.Platform) bool { return platforms.Format(q) == platforms.Format(p) }) {
				out = append(out, p)
			}
		}
	}
	if len(out) == 0 {
		out = append(out, host)
	}
	return out, nil
}
