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
	"github.com/moby/patternmatcher"
)

// The checks BuildKit makes while it expands variables during conversion
// (dockerfile2llb): UndefinedArgInFrom and InvalidDefaultArgInFrom on FROM,
// UndefinedVar on every expanded word, and the two that look at expanded
// words, ExposeInvalidFormat and CopyIgnoredFile. Conversion is replayed
// statically: build arguments take their defaults, as BuildKit's lint does
// when none are given, and the base image's env is known only for scratch
// (and stages built on it).

// defaultPath is the PATH BuildKit gives a stage whose image has none.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

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

// scope is what one stage's instructions can expand, as BuildKit's
// dispatchState holds it.
type scope struct {
	env       vars            // the state's env: base image env, ENV, ARGs with a value
	args      map[string]bool // every ARG declared so far (BuildKit's buildArgs)
	unsure    map[string]bool // env names whose value lint cannot know
	baseKnown bool            // the base image's env is known (scratch)
}

func (s *scope) clone() *scope {
	c := &scope{env: vars{}, args: map[string]bool{}, unsure: map[string]bool{}, baseKnown: s.baseKnown}
	for k, v := range s.env {
		c.env[k] = v
	}
	for k := range s.args {
		c.args[k] = true
	}
	for k := range s.unsure {
		c.unsure[k] = true
	}
	return c
}

func (s *scope) set(k, v string, unsure bool) {
	s.env[k] = v
	if unsure {
		s.unsure[k] = true
	} else {
		delete(s.unsure, k)
	}
}

// globals are the ARGs a FROM can use: the predefined platform ARGs and
// the ARGs before the first FROM, with their defaults.
type globals struct {
	env      vars
	declared map[string]bool // every ARG before the first FROM
	keys     []string        // env's names and declared, sorted (UndefinedArgInFrom's known names)
}

// newGlobals evaluates the global ARGs' defaults; ok is false when one
// fails to expand (BuildKit then gives up these checks).
func newGlobals(metaArgs []instructions.ArgCommand, lex *shell.Lex, target string) (g *globals, ok bool) {
	g = &globals{env: predefinedArgs(target), declared: map[string]bool{}}
	for _, cmd := range metaArgs {
		for _, a := range cmd.Args {
			g.declared[a.Key] = true
			if a.Value == nil {
				continue
			}
			v, _, err := lex.ProcessWord(*a.Value, g.env)
			if err != nil {
				return nil, false
			}
			g.env[a.Key] = v
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

// predefinedArgs are BuildKit's platform ARGs for a build on this host.
func predefinedArgs(target string) vars {
	p := platforms.Normalize(platforms.DefaultSpec())
	if target == "" {
		target = "default"
	}
	return vars{
		"BUILDPLATFORM": platforms.Format(p), "BUILDOS": p.OS, "BUILDOSVERSION": p.OSVersion,
		"BUILDARCH": p.Architecture, "BUILDVARIANT": p.Variant,
		"TARGETPLATFORM": platforms.FormatAll(p), "TARGETOS": p.OS, "TARGETOSVERSION": p.OSVersion,
		"TARGETARCH": p.Architecture, "TARGETVARIANT": p.Variant, "TARGETSTAGE": target,
	}
}

// expansions replays the variable expansion of every stage (BuildKit's
// lint checks all stages, not only the target's).
func (c *checker) expansions(ignore []string) {
	stages, metaArgs, err := c.df.Reparse() // Expand rewrites commands in place
	if err != nil || len(stages) == 0 {
		return
	}
	lex := shell.NewLex(c.df.Escape)
	g, ok := newGlobals(metaArgs, lex, stages[len(stages)-1].Name)
	if !ok {
		return
	}
	c.invalidDefaultArgs(stages, g, lex)
	var pm *patternmatcher.PatternMatcher
	if len(ignore) > 0 {
		pm, _ = patternmatcher.New(ignore) // nil (no check) if the patterns do not compile
	}
	done := map[string]*scope{}
	for i := range stages {
		st := &stages[i]
		lint := c.lint.WithMergedConfigFromComments(st.Comments)
		base := c.fromArgs(st, g, lex, lint)
		sc := newScope(base, done)
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
// env, or an image whose env lint does not know.
func newScope(base string, stages map[string]*scope) *scope {
	if s, ok := stages[strings.ToLower(base)]; ok {
		return s.clone()
	}
	s := (&scope{}).clone()
	if base == "scratch" {
		s.baseKnown = true
		s.env["PATH"] = defaultPath
	}
	return s
}

// invalidDefaultArgs is InvalidDefaultArgInFrom: with the global ARGs'
// defaults, every FROM must name a valid image.
func (c *checker) invalidDefaultArgs(stages []instructions.Stage, g *globals, lex *shell.Lex) {
	for _, st := range stages {
		res, _, err := lex.ProcessWord(st.BaseName, g.env)
		if err != nil {
			return
		}
		if _, err := name.ParseReference(res); err != nil {
			c.lint.Run(&linter.RuleInvalidDefaultArgInFrom, st.Location, linter.RuleInvalidDefaultArgInFrom.Format(st.BaseName))
		}
	}
}

// fromArgs is UndefinedArgInFrom on the base name and --platform; it
// returns the expanded base name.
func (c *checker) fromArgs(st *instructions.Stage, g *globals, lex *shell.Lex, lint *linter.Linter) string {
	var base string
	for i, expr := range []string{st.BaseName, st.Platform} {
		if i == 1 && expr == "" {
			break
		}
		res, _ := lex.ProcessWordWithMatches(expr, g.env)
		if i == 0 {
			base = res.Result
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
	return base
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
	sc     *scope
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
	if ex, ok := d.cmd.(instructions.SupportsSingleWordExpansion); ok {
		if ex.Expand(d.expander(d.lex)) != nil {
			return
		}
	}
	if ex, ok := d.cmd.(instructions.SupportsSingleWordExpansionRaw); ok {
		raw := shell.NewLex('\\') // heredoc bodies, as BuildKit expands them
		raw.SkipProcessQuotes = true
		if ex.ExpandRaw(d.expander(raw)) != nil {
			return
		}
	}
	switch cmd := d.cmd.(type) {
	case *instructions.EnvCommand:
		for _, kv := range cmd.Env {
			d.sc.set(kv.Key, kv.Value, d.unsure)
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

func (d *dispatcher) expander(lex *shell.Lex) instructions.SingleWordExpander {
	return func(word string) (string, error) {
		res, err := lex.ProcessWordWithMatches(word, d.sc.env)
		d.undefined(res.Unmatched)
		d.note(res)
		return res.Result, err
	}
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

// arg declares a stage's ARGs one by one, as BuildKit's dispatchArg: a
// default is expanded; an ARG without one takes the global ARG's value.
func (d *dispatcher) arg(cmd *instructions.ArgCommand) {
	for _, a := range cmd.Args {
		d.unsure = false
		var value *string
		if a.Value != nil {
			res, err := d.lex.ProcessWordWithMatches(*a.Value, d.sc.env)
			d.undefined(res.Unmatched)
			if err != nil {
				return
			}
			d.note(res)
			value = &res.Result
		} else if v, ok := d.g.env[a.Key]; ok {
			value = &v
		}
		if value != nil && !nonEnvArgs[a.Key] {
			d.sc.set(a.Key, *value, d.unsure)
		}
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
		match, _ := suggest.Search(v, d.sc.env.Keys(), true)
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
		words, err := d.lex.ProcessWords(p, d.sc.env)
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
