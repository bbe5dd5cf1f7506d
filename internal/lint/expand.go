package lint

import (
	"context"
	"errors"
	"sort"

	"github.com/containerd/platforms"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	"github.com/moby/buildkit/util/suggest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-build/kiln/internal/convert"
	"github.com/kiln-build/kiln/internal/dockerfile"
	"github.com/kiln-build/kiln/internal/plan"
	"github.com/kiln-build/kiln/internal/scope"
)

// The checks BuildKit makes while it expands variables during conversion
// (dockerfile2llb): UndefinedArgInFrom and InvalidDefaultArgInFrom on FROM,
// UndefinedVar on every expanded word, and the two that look at expanded
// words, ExposeInvalidFormat and CopyIgnoredFile. The last three run inside
// the build's own conversion (observer.go): build arguments take the
// --build-arg values given (Options), else their defaults, and the base
// image's env is known for scratch and for the images Options.BaseEnv
// knows (and stages built on them).

// nonEnvArgs never reach the env, and BuildKit never reports them.
var nonEnvArgs = map[string]bool{"BUILDKIT_SBOM_SCAN_CONTEXT": true, "BUILDKIT_SBOM_SCAN_STAGE": true}

// wellKnownEnv are names an image's env commonly defines (the OS's, and
// the official language images'). When the base image is not known,
// UndefinedVar never reports them.
var wellKnownEnv = map[string]bool{
	"PATH": true, "HOME": true, "HOSTNAME": true, "TERM": true, "LANG": true, "LC_ALL": true,
	"GOLANG_VERSION": true, "GOPATH": true, "GOTOOLCHAIN": true, "NODE_VERSION": true, "YARN_VERSION": true,
	"PYTHON_VERSION": true, "PYTHON_SHA256": true, "GPG_KEY": true, "JAVA_HOME": true, "JAVA_VERSION": true,
	"RUSTUP_HOME": true, "CARGO_HOME": true, "RUST_VERSION": true, "MAVEN_HOME": true, "MAVEN_CONFIG": true,
	"GRADLE_HOME": true, "GRADLE_VERSION": true, "PHP_INI_DIR": true, "PHP_VERSION": true,
	"RUBY_VERSION": true, "GEM_HOME": true, "BUNDLE_APP_CONFIG": true,
}

// vars is a shell.EnvGetter over a map.
type vars map[string]string

func (v vars) Get(k string) (string, bool) { s, ok := v[k]; return s, ok }

// Keys is sorted, so suggestions do not depend on map order.
func (v vars) Keys() []string {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// globals are the ARGs a FROM can use: the predefined platform ARGs and
// the ARGs before the first FROM, with the --build-arg values given, else
// their defaults.
type globals struct {
	env      vars
	defaults vars            // env with the ARGs' defaults only (InvalidDefaultArgInFrom's); nil if one fails
	declared map[string]bool // every ARG before the first FROM
	keys     []string        // env's names and declared, sorted (UndefinedArgInFrom's known names)
	platform ocispec.Platform
}

// newGlobals evaluates the global ARGs, as BuildKit's buildMetaArgs does
// twice: with the build arguments, and with none (the predefined ARGs take
// build arguments both times); ok is false when a value BuildKit would use
// fails to expand (BuildKit then fails the build).
func newGlobals(metaArgs []instructions.ArgCommand, escape rune, target string, o Options) (g *globals, ok bool) {
	g = &globals{declared: map[string]bool{}, platform: platforms.Normalize(platforms.DefaultSpec())}
	if o.Platform != nil {
		g.platform = platforms.Normalize(*o.Platform)
	}
	predefined := scope.Predefined(platforms.Normalize(platforms.DefaultSpec()), g.platform, target, o.BuildArgs)
	// A default that fails to expand only abandons InvalidDefaultArgInFrom
	// when a build argument replaces it.
	g.defaults, _ = metaArgEnv(predefined, metaArgs, escape, nil)
	if g.env, ok = metaArgEnv(predefined, metaArgs, escape, o.BuildArgs); !ok {
		return nil, false
	}
	for _, cmd := range metaArgs {
		for _, a := range cmd.Args {
			g.declared[a.Key] = true
		}
	}
	known := map[string]bool{}
	for k := range g.env {
		known[k] = true
	}
	for k := range g.declared {
		known[k] = true
	}
	for k := range known {
		g.keys = append(g.keys, k)
	}
	sort.Strings(g.keys)
	return g, true
}

// metaArgEnv is the predefined ARGs and the global ARGs (scope.Globals);
// ok is false when a value fails to expand.
func metaArgEnv(predefined []scope.KV, metaArgs []instructions.ArgCommand, escape rune, buildArgs map[string]string) (vars, bool) {
	env, _, err := scope.Globals(predefined, metaArgs, escape, buildArgs)
	if err != nil {
		return nil, false
	}
	return vars(scope.Map(env)), true
}

// expansions runs the build's own conversion (convert.Convert) with lint's
// observer, after the checks of the FROM lines: every stage without a
// target, as BuildKit's lint; the target's stages with one. Base images
// are known through Options.BaseEnv. A conversion error is the build's:
// conversion stops there, as BuildKit's lint does.
func (c *checker) expansions(o Options) {
	stages, metaArgs, err := c.df.Reparse()
	if err != nil || len(stages) == 0 {
		return
	}
	lex := shell.NewLex(c.df.Escape)
	target := o.Target
	if target == "" {
		target = stages[len(stages)-1].Name
	}
	g, ok := newGlobals(metaArgs, c.df.Escape, target, o)
	if !ok {
		return
	}
	c.invalidDefaultArgs(stages, g, lex)
	for i := range stages {
		c.fromArgs(&stages[i], g, lex, c.lint.WithMergedConfigFromComments(stages[i].Comments))
	}
	p, err := plan.New(c.df, plan.Options{Target: o.Target, BuildArgs: o.BuildArgs,
		BuildPlatform: platforms.Normalize(platforms.DefaultSpec()), TargetPlatform: g.platform})
	if err != nil {
		c.failed(err) // the build fails before any instruction
		return
	}
	ob := newObserver(c, g, o)
	_, err = convert.Convert(context.Background(), p, convert.GraphOptions{
		Platform: g.platform, BuildArgs: o.BuildArgs, AllStages: o.Target == "",
		StageOptions: convert.StageOptions{Observer: ob},
	}, ob)
	c.failed(err)
}

// failed keeps the build's error, when it names its line (a plan's or a
// conversion's error always does).
func (c *checker) failed(err error) {
	var le *dockerfile.LocationError
	if errors.As(err, &le) {
		c.err = le
	}
}

// invalidDefaultArgs is InvalidDefaultArgInFrom: with the global ARGs'
// defaults, every FROM must name a valid image.
func (c *checker) invalidDefaultArgs(stages []instructions.Stage, g *globals, lex *shell.Lex) {
	if g.defaults == nil {
		return
	}
	for _, st := range stages {
		res, _, err := lex.ProcessWord(st.BaseName, g.defaults)
		if err != nil {
			return
		}
		if _, err := name.ParseReference(res); err != nil {
			c.lint.Run(&linter.RuleInvalidDefaultArgInFrom, st.Location, linter.RuleInvalidDefaultArgInFrom.Format(st.BaseName))
		}
	}
}

// fromArgs is UndefinedArgInFrom on the base name and --platform.
func (c *checker) fromArgs(st *instructions.Stage, g *globals, lex *shell.Lex, lint *linter.Linter) {
	for i, expr := range []string{st.BaseName, st.Platform} {
		if i == 1 && expr == "" {
			break
		}
		res, _ := lex.ProcessWordWithMatches(expr, g.env)
		for _, v := range sortedSet(res.Unmatched) {
			if g.declared[v] {
				continue
			}
			if _, ok := g.env[v]; ok {
				continue
			}
			match, _ := suggest.Search(v, g.keys, true)
			lint.Run(&linter.RuleUndefinedArgInFrom, st.Location, linter.RuleUndefinedArgInFrom.Format(v, match))
		}
	}
}

func sortedSet(m map[string]struct{}) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
