package lint

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"

	"github.com/kiln-build/kiln/internal/dockerfile"
)

// dispatchRules are the BuildKit rules its Dockerfile frontend checks as
// it dispatches a stage's instructions: with a --target, only in the
// stages that target needs (without one, in every stage). The others are
// checked while parsing, in every stage.
var dispatchRules = map[string]bool{
	"JSONArgsRecommended": true, "LegacyKeyValueFormat": true, "WorkdirRelativePath": true,
	"ExposeInvalidFormat": true, "ExposeProtoCasing": true, "CopyIgnoredFile": true,
	"SecretsUsedInArgOrEnv": true, "UndefinedVar": true, "MultipleInstructionsDisallowed": true,
	"InvalidBaseImagePlatform": true,
}

// ForTarget drops the dispatch-time findings of stages target (--target;
// "" keeps all, as BuildKit lints every stage then) does not need; an
// unknown target is BuildKit's error.
func ForTarget(df *dockerfile.Dockerfile, target string, found []Finding) ([]Finding, error) {
	if target == "" || len(df.Stages) == 0 {
		return found, nil
	}
	t := -1
	for i, st := range df.Stages {
		if st.Name != "" && strings.EqualFold(st.Name, target) {
			t = i
		}
	}
	if t < 0 {
		return nil, fmt.Errorf("target stage %q could not be found", target)
	}
	return ForStage(df, t, found)
}

// ForStage is ForTarget for the stage of index t, as a build dispatches
// only the stages its target needs.
func ForStage(df *dockerfile.Dockerfile, t int, found []Finding) ([]Finding, error) {
	needed, err := neededStages(df, t)
	if err != nil {
		return nil, err
	}
	var out []Finding
	for _, f := range found {
		if dispatchRules[f.Rule] && !needed[stageAt(df, f.Line)] {
			continue
		}
		out = append(out, f)
	}
	return out, nil
}

// neededStages are the stages (by index) the target is built from: its
// base stages, COPY --from and RUN --mount=from= stages, transitively.
func neededStages(df *dockerfile.Dockerfile, t int) (map[int]bool, error) {
	byName := map[string]int{}
	for i, st := range df.Stages {
		if st.Name != "" {
			byName[strings.ToLower(st.Name)] = i
		}
	}
	stages, _, err := df.Reparse() // fresh commands: their mounts are parsed below
	if err != nil {
		return nil, err
	}
	needed := map[int]bool{}
	var visit func(i int)
	visit = func(i int) {
		if needed[i] {
			return
		}
		needed[i] = true
		st := stages[i]
		ref := func(name string, byIndex bool) {
			if j, ok := byName[strings.ToLower(name)]; ok && j < i {
				visit(j)
			} else if n, err := strconv.Atoi(name); err == nil && byIndex && n >= 0 && n < i {
				visit(n)
			}
		}
		ref(st.BaseName, false)
		for _, cmd := range st.Commands {
			switch c := cmd.(type) {
			case *instructions.CopyCommand:
				ref(c.From, true)
			case *instructions.RunCommand:
				if c.Expand(func(w string) (string, error) { return w, nil }) == nil {
					for _, m := range instructions.GetMounts(c) {
						ref(m.From, false)
					}
				}
			}
		}
	}
	visit(t)
	return needed, nil
}

// stageAt is the index of the stage line belongs to (-1 before the first).
func stageAt(df *dockerfile.Dockerfile, line int) int {
	at := -1
	for i, st := range df.Stages {
		if len(st.Location) > 0 && st.Location[0].Start.Line <= line {
			at = i
		}
	}
	return at
}
