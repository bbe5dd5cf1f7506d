package lint

import (
	"path"
	"sort"
	"strings"

	"github.com/containerd/platforms"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	"github.com/moby/buildkit/util/suggest"
	"github.com/moby/buildkit/util/system"
	"github.com/moby/patternmatcher"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-build/kiln/internal/convert"
	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/scope"
)

// The checks BuildKit makes while it expands variables during conversion
// (dockerfile2llb): UndefinedArgInFrom and InvalidDefaultArgInFrom on FROM,
// UndefinedVar on every expanded word, and the two that look at expanded
// words, ExposeInvalidFormat and CopyIgnoredFile. Conversion is replayed
// statically: build arguments take the --build-arg values given (Options),
// else their defaults, and the base image's env is known for scratch and
// for the images Options.BaseEnv knows (and stages built on them).

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

// stageScope is what one stage's instructions can expand: the build's own
// conversion state (convert.State: the image's ENV and the stage's ARGs,
// scoped by internal/scope as a build scopes them), and what lint adds.
type stageScope struct {
	st        convert.State
	args      map[string]bool // every ARG declared so far (BuildKit's buildArgs)
	unsure    map[string]bool // env names whose value lint cannot know
	baseKnown bool            // the base image's env is known (scratch, or Options.BaseEnv)
}

// newStageScope is a stage on an image whose env is env.
func newStageScope(env []string, g *globals, o Options, escape rune) *stageScope {
	img := image.New(g.platform)
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		img.SetEnv(k, v)
	}
	return &stageScope{
		st:   convert.State{Img: img, Globals: g.env, BuildArgs: o.BuildArgs, Escape: escape},
		args: map[string]bool{}, unsure: map[string]bool{},
	}
}

func (s *stageScope) clone() *stageScope {
	c := &stageScope{st: s.st, args: map[string]bool{}, unsure: map[string]bool{}, baseKnown: s.baseKnown}
	c.st.Img = s.st.Img.Clone()
	c.st.Args = append(scope.Args(nil), s.st.Args...)
	for k := range s.args {
		c.args[k] = true
	}
	for k := range s.unsure {
		c.unsure[k] = true
	}
	return c
}

// env is what the stage's next instruction expands (convert.State.ExpandEnv).
func (s *stageScope) env() vars {
	return vars(scope.Map(kvs(s.st.ExpandEnv())))
}

func kvs(env []string) []scope.KV {
	out := make([]scope.KV, len(env))
	for i, e := range env {
		out[i].Key, out[i].Value, _ = strings.Cut(e, "=")
	}
	return out
}

// mark notes whether lint knows the value k was just given.
func (s *stageScope) mark(k string, unsure bool) {
	if unsure {
		s.unsure[k] = true
	} else {
		delete(s.unsure, k)
	}
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

// expansions replays the variable expansion of every stage (BuildKit's
// lint checks all stages, not only the target's).
func (c *checker) expansions(o Options) {
	stages, metaArgs, err := c.df.Reparse() // Expand rewrites commands in place
	if err != nil || len(stages) == 0 {
		return
	}
	lex := shell.NewLex(c.df.Escape)
	g, ok := newGlobals(metaArgs, c.df.Escape, stages[len(stages)-1].Name, o)
	if !ok {
		return
	}
	c.invalidDefaultArgs(stages, g, lex)
	var pm *patternmatcher.PatternMatcher
	if len(o.Ignore) > 0 {
		pm, _ = patternmatcher.New(o.Ignore) // nil (no check) if the patterns do not compile
	}
	done := map[string]*stageScope{}
	for i := range stages {
		st := &stages[i]
		lint := c.lint.WithMergedConfigFromComments(st.Comments)
		base, platform := c.fromArgs(st, g, lex, lint)
		sc := newScope(base, platform, done, g, o, c.df.Escape)
		for _, cmd := range st.Commands {
			d := dispatcher{c: c, sc: sc, g: g, lex: lex, ignore: pm, cmd: cmd,
				lint: c.lint.WithMergedConfigFromComments(cmd.Comments())}
			d.dispatch()
		}
		if st.Name != "" {
			done[st.Name] = sc
		}
	}
}

// newScope starts a stage: a copy of an earlier stage's scope, scratch's
// env, the env baseEnv gives for the image on the stage's platform (nil:
// the platform is not known), or an image whose env lint does not know.
func newScope(base string, platform *ocispec.Platform, stages map[string]*stageScope, g *globals, o Options, escape rune) *stageScope {
	if s, ok := stages[strings.ToLower(base)]; ok {
		return s.clone()
	}
	var env []string
	known := false
	switch {
	case base == "scratch":
		known = true
	case o.BaseEnv != nil && platform != nil:
		env, known = o.BaseEnv(base, *platform)
	}
	if !known {
		return newStageScope(nil, g, o, escape)
	}
	// As BuildKit: PATH is always set (except on Windows, left to the OS).
	if _, ok := vars(scope.Map(kvs(env)))["PATH"]; !ok && (platform == nil || platform.OS != "windows") {
		env = append(env, "PATH="+system.DefaultPathEnvUnix)
	}
	s := newStageScope(env, g, o, escape)
	s.baseKnown = true
	return s
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

// fromArgs is UndefinedArgInFrom on the base name and --platform; it
// returns the expanded base name and the stage's platform (nil when its
// --platform does not parse).
func (c *checker) fromArgs(st *instructions.Stage, g *globals, lex *shell.Lex, lint *linter.Linter) (string, *ocispec.Platform) {
	var base string
	platform := &g.platform
	for i, expr := range []string{st.BaseName, st.Platform} {
		if i == 1 && expr == "" {
			break
		}
		res, err := lex.ProcessWordWithMatches(expr, g.env)
		if i == 0 {
			base = res.Result
		} else if p, perr := platforms.Parse(res.Result); err == nil && perr == nil {
			p = platforms.Normalize(p)
			platform = &p
		} else {
			platform = nil
		}
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
	return base, platform
}

func sortedSet(m map[string]struct{}) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// dispatcher replays one instruction.
type dispatcher struct {
	c      *checker
	sc     *stageScope
	g      *globals
	lex    *shell.Lex
	ignore *patternmatcher.PatternMatcher
	cmd    instructions.Command
	lint   *linter.Linter // with the instruction's own `# check=` comment
	unsure bool           // a word used a variable whose value lint cannot know
}

func (d *dispatcher) dispatch() {
	if a, ok := d.cmd.(*instructions.ArgCommand); ok {
		d.arg(a)
		return
	}
	// The build's own expansion (convert), observed: lint reads what
	// each word used and left unset. A word the build fails stops here.
	if convert.ExpandObserved("", d.c.df.Escape, d.cmd, d.sc.st.ExpandEnv(), d.observe) != nil {
		return
	}
	switch cmd := d.cmd.(type) {
	case *instructions.EnvCommand:
		convert.Meta(&d.sc.st, cmd) // ENV as the build applies it
		for _, kv := range cmd.Env {
			d.sc.mark(kv.Key, d.unsure)
		}
	case *instructions.ExposeCommand:
		d.exposeFormat(cmd)
	case *instructions.CopyCommand:
		if cmd.From == "" {
			d.ignoredFiles("Copy", cmd.SourcePaths)
		}
	case *instructions.AddCommand:
		d.ignoredFiles("Add", cmd.SourcePaths)
	}
}

// observe is UndefinedVar on one expanded word, and notes whether its
// value is unknown to lint.
func (d *dispatcher) observe(res shell.ProcessWordResult) {
	d.undefined(res.Unmatched)
	d.note(res)
}

// note remembers whether a word's value is unknown to lint.
func (d *dispatcher) note(res shell.ProcessWordResult) {
	if len(res.Unmatched) > 0 {
		d.unsure = true
	}
	for k := range res.Matched {
		if d.sc.unsure[k] {
			d.unsure = true
		}
	}
}

// arg declares a stage's ARGs one by one, as the build does (convert's
// ARG, scope.ArgValue): a --build-arg value wins (the default is not
// expanded); else a default is expanded; an ARG without one takes the
// global ARG's value. Lint reads the default's unset names first.
func (d *dispatcher) arg(cmd *instructions.ArgCommand) {
	for _, a := range cmd.Args {
		d.unsure = false
		if _, ok := d.c.opts.BuildArgs[a.Key]; !ok && a.Value != nil {
			res, err := d.lex.ProcessWordWithMatches(*a.Value, d.sc.env())
			d.undefined(res.Unmatched)
			if _, err = scope.Bounded(res.Result, err); err != nil {
				return // the build fails it; lint must not grow it tenfold per ARG meanwhile
			}
			d.note(res)
		}
		one := &instructions.ArgCommand{Args: []instructions.KeyValuePairOptional{a}}
		if _, err := convert.Meta(&d.sc.st, one); err != nil {
			return // the build fails it
		}
		d.sc.mark(a.Key, d.unsure)
		d.sc.args[a.Key] = true
	}
}

// undefined is UndefinedVar. Knowing the base image's env, every unset
// name is reported, as BuildKit does; not knowing it, only the names that
// are likely mistakes whatever the image defines (see likelyMistake).
func (d *dispatcher) undefined(unmatched map[string]struct{}) {
	for _, v := range sortedSet(unmatched) {
		if d.sc.args[v] || nonEnvArgs[v] {
			continue
		}
		match, _ := suggest.Search(v, d.sc.env().Keys(), true)
		if !d.sc.baseKnown && !d.likelyMistake(v, match) {
			continue
		}
		d.lint.Run(&linter.RuleUndefinedVar, d.cmd.Location(), linter.RuleUndefinedVar.Format(v, match))
	}
}

// likelyMistake judges an unset name when the base image's env is not
// known: a global ARG the stage did not declare (ARGs before FROM are not
// visible in a stage), or a near-miss of a name the Dockerfile defined (a
// typo; only for names of four letters or more, where two edits are a
// near miss). Names images commonly define are never reported.
func (d *dispatcher) likelyMistake(v, match string) bool {
	if wellKnownEnv[v] {
		return false
	}
	return d.g.declared[v] || (match != "" && len(v) >= 4)
}

// exposeFormat is ExposeInvalidFormat: EXPOSE takes [ip:][hostPort:]port,
// and only the port belongs in an image.
func (d *dispatcher) exposeFormat(cmd *instructions.ExposeCommand) {
	for _, p := range cmd.Ports {
		words, err := d.lex.ProcessWords(p, d.sc.env())
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
				d.lint.Run(&linter.RuleExposeInvalidFormat, cmd.Location(), linter.RuleExposeInvalidFormat.Format(w))
			}
		}
	}
}

// ignoredFiles is CopyIgnoredFile: a source from the build context that
// .dockerignore excludes. As BuildKit, it says nothing when the ignore file
// has "!" exceptions (too hard to decide statically); and lint says nothing
// when a source depends on a value it cannot know.
func (d *dispatcher) ignoredFiles(verb string, sources []string) {
	if d.ignore == nil || d.ignore.Exclusions() || d.unsure {
		return
	}
	for _, src := range sources {
		if strings.Contains(src, "://") || strings.HasPrefix(src, "git@") {
			continue // a URL or a git repository, not the context
		}
		src = path.Clean(src)
		if (src == "." || src == "/") && !rootIgnored(d.ignore) {
			continue
		}
		if ok, err := d.ignore.MatchesOrParentMatches(src); err == nil && ok {
			d.lint.Run(&linter.RuleCopyIgnoredFile, d.cmd.Location(), linter.RuleCopyIgnoredFile.Format(verb, src))
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
