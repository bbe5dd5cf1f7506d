package lint

import (
	"context"
	"path"
	"strings"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	"github.com/moby/buildkit/util/suggest"
	"github.com/moby/patternmatcher"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-build/kiln/internal/convert"
	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/plan"
	"github.com/kiln-build/kiln/internal/scope"
)

// observer runs the checks BuildKit makes during conversion inside the
// build's own (convert.Observer), and resolves base images to the env
// Options.BaseEnv knows (convert.MetaResolver). What it adds to the
// build's state is which values lint cannot know.
type observer struct {
	c      *checker
	g      *globals
	o      Options
	ignore *patternmatcher.PatternMatcher
	known  map[string]bool // "ref platform": BaseEnv knew the image's env
	stages map[*plan.Stage]*stageFacts
	cur    *stageFacts

	cmd    instructions.Command // the instruction being converted
	lint   *linter.Linter       // with cmd's own `# check=` comment
	unsure bool                 // a word of cmd (of the current ARG) used a value lint cannot know
}

// stageFacts are what lint knows of a stage beyond the build's state.
type stageFacts struct {
	unsure    map[string]bool // env and ARG names whose value lint cannot know
	baseKnown bool            // the base image's env is known (scratch, or Options.BaseEnv)
}

func newObserver(c *checker, g *globals, o Options) *observer {
	ob := &observer{c: c, g: g, o: o, known: map[string]bool{}, stages: map[*plan.Stage]*stageFacts{}}
	if len(o.Ignore) > 0 {
		ob.ignore, _ = patternmatcher.New(o.Ignore) // nil (no check) if the patterns do not compile
	}
	return ob
}

func imageKey(ref string, p ocispec.Platform) string { return ref + " " + platforms.Format(p) }

// ResolveImageConfig is a base image with the env BaseEnv gives, or with
// none when it does not know the image (then UndefinedVar is cautious).
func (ob *observer) ResolveImageConfig(_ context.Context, ref string, p ocispec.Platform) (*image.Image, error) {
	img := image.New(p)
	img.Config.Config.Env = nil
	var env []string
	known := false
	if ob.o.BaseEnv != nil {
		env, known = ob.o.BaseEnv(ref, p)
	}
	if known {
		img.Config.Config.Env = append([]string(nil), env...)
	}
	ob.known[imageKey(ref, p)] = known
	return img, nil
}

func (ob *observer) Stage(st *plan.Stage, p ocispec.Platform) {
	f := &stageFacts{unsure: map[string]bool{}}
	switch {
	case st.Base.Scratch:
		f.baseKnown = true
	case st.Base.Stage != nil:
		base := ob.stages[st.Base.Stage]
		f.baseKnown = base.baseKnown
		for k := range base.unsure {
			f.unsure[k] = true
		}
	default:
		f.baseKnown = ob.known[imageKey(st.Base.Image, p)]
	}
	ob.stages[st], ob.cur, ob.cmd = f, f, nil
}

// at starts observing cmd, if it is a new instruction.
func (ob *observer) at(cmd instructions.Command) {
	if cmd != ob.cmd {
		ob.cmd, ob.unsure = cmd, false
		ob.lint = ob.c.lint.WithMergedConfigFromComments(cmd.Comments())
	}
}

// Word is UndefinedVar on one expanded word, and notes whether its value
// is unknown to lint.
func (ob *observer) Word(s *convert.State, cmd instructions.Command, res shell.ProcessWordResult) {
	ob.at(cmd)
	ob.undefined(s, res.Unmatched)
	if len(res.Unmatched) > 0 {
		ob.unsure = true
	}
	for k := range res.Matched {
		if ob.cur.unsure[k] {
			ob.unsure = true
		}
	}
}

// Expanded runs the checks that read an instruction's expanded words.
func (ob *observer) Expanded(s *convert.State, cmd instructions.Command) {
	ob.at(cmd)
	switch cmd := cmd.(type) {
	case *instructions.ExposeCommand:
		ob.exposeFormat(s, cmd)
	case *instructions.CopyCommand:
		if cmd.From == "" {
			ob.ignoredFiles("Copy", cmd.SourcePaths)
		}
	case *instructions.AddCommand:
		ob.ignoredFiles("Add", cmd.SourcePaths)
	}
}

// Set notes whether lint knows the value an ENV or ARG just gave key; each
// ARG name is judged on its own default.
func (ob *observer) Set(_ *convert.State, cmd instructions.Command, key string) {
	ob.at(cmd)
	if ob.unsure {
		ob.cur.unsure[key] = true
	} else {
		delete(ob.cur.unsure, key)
	}
	if _, isArg := cmd.(*instructions.ArgCommand); isArg {
		ob.unsure = false
	}
}

// env is what the stage's next word expands with, as a shell.EnvGetter.
func env(s *convert.State) vars {
	out := vars{}
	for _, e := range s.ExpandEnv() {
		k, v, _ := strings.Cut(e, "=")
		out[k] = v
	}
	return out
}

// declared reports whether the stage declared an ARG named k (BuildKit's
// buildArgs, which UndefinedVar never reports).
func declared(args scope.Args, k string) bool {
	for _, a := range args {
		if a.Key == k {
			return true
		}
	}
	return false
}

// undefined is UndefinedVar. Knowing the base image's env, every unset
// name is reported, as BuildKit does; not knowing it, only the names that
// are likely mistakes whatever the image defines (see likelyMistake).
func (ob *observer) undefined(s *convert.State, unmatched map[string]struct{}) {
	for _, v := range sortedSet(unmatched) {
		if declared(s.Args, v) || nonEnvArgs[v] {
			continue
		}
		match, _ := suggest.Search(v, env(s).Keys(), true)
		if !ob.cur.baseKnown && !ob.likelyMistake(v, match) {
			continue
		}
		ob.lint.Run(&linter.RuleUndefinedVar, ob.cmd.Location(), linter.RuleUndefinedVar.Format(v, match))
	}
}

// likelyMistake judges an unset name when the base image's env is not
// known: a global ARG the stage did not declare (ARGs before FROM are not
// visible in a stage), or a near-miss of a name the Dockerfile defined (a
// typo; only for names of four letters or more, where two edits are a
// near miss). Names images commonly define are never reported.
func (ob *observer) likelyMistake(v, match string) bool {
	if wellKnownEnv[v] {
		return false
	}
	return ob.g.declared[v] || (match != "" && len(v) >= 4)
}

// exposeFormat is ExposeInvalidFormat: EXPOSE takes [ip:][hostPort:]port,
// and only the port belongs in an image.
func (ob *observer) exposeFormat(s *convert.State, cmd *instructions.ExposeCommand) {
	for _, p := range cmd.Ports {
		words, err := shell.NewLex(s.Escape).ProcessWords(p, env(s))
		if err != nil {
			return
		}
		for _, w := range words {
			parts := strings.Split(w, ":")
			port, proto, _ := strings.Cut(parts[len(parts)-1], "/")
			switch strings.ToLower(proto) {
			case "", "tcp", "udp", "sctp":
			default:
				return // BuildKit fails the build here, before this check
			}
			if port == "" {
				return
			}
			if len(parts) > 1 {
				ob.lint.Run(&linter.RuleExposeInvalidFormat, cmd.Location(), linter.RuleExposeInvalidFormat.Format(w))
			}
		}
	}
}

// ignoredFiles is CopyIgnoredFile: a source from the build context that
// .dockerignore excludes. As BuildKit, it says nothing when the ignore file
// has "!" exceptions (too hard to decide statically); and lint says nothing
// when a source depends on a value it cannot know.
func (ob *observer) ignoredFiles(verb string, sources []string) {
	if ob.ignore == nil || ob.ignore.Exclusions() || ob.unsure {
		return
	}
	for _, src := range sources {
		if strings.Contains(src, "://") || strings.HasPrefix(src, "git@") {
			continue // a URL or a git repository, not the context
		}
		src = path.Clean(src)
		if (src == "." || src == "/") && !rootIgnored(ob.ignore) {
			continue
		}
		if ok, err := ob.ignore.MatchesOrParentMatches(src); err == nil && ok {
			ob.lint.Run(&linter.RuleCopyIgnoredFile, ob.cmd.Location(), linter.RuleCopyIgnoredFile.Format(verb, src))
		}
	}
}

// rootIgnored reports whether the patterns exclude everything, the only
// case where copying "." copies an ignored file for sure.
func rootIgnored(pm *patternmatcher.PatternMatcher) bool {
	for _, p := range pm.Patterns() {
		if p.Exclusion() {
			continue
		}
		switch p.String() {
		case "*", "**", "**/*":
			return true
		}
	}
	return false
}
