// Package lint checks a Dockerfile without building it (`kiln check`): the
// rules BuildKit's parser reports, the ones BuildKit checks while
// converting (checked inside the build's own conversion, internal/convert),
// and the seed's advice on multi-stage builds that no builder checks.
package lint

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-build/kiln/internal/dockerfile"
)

// Finding is one rule violation.
type Finding struct {
	Rule     string `json:"rule"`
	Message  string `json:"message"`
	File     string `json:"file"`
	Line     int    `json:"line"`
	Advice   string `json:"advice,omitempty"` // a link-free explanation
	Severity string `json:"severity"`         // warning or error

	// What BuildKit's lint result carries for its rules (--call=check).
	Description string         `json:"-"`
	URL         string         `json:"-"`
	Ranges      []parser.Range `json:"-"`
}

// Options are what Check needs beyond the Dockerfile.
type Options struct {
	// Ignore holds the build context's .dockerignore patterns, for
	// CopyIgnoredFile; nil when there are none or the context is unknown.
	Ignore []string
	// BuildArgs are the --build-arg values: as BuildKit's lint, global
	// and stage ARGs take them over their defaults (InvalidDefaultArgInFrom
	// still judges the defaults alone).
	BuildArgs map[string]string
	// Target is the stage --target names. As BuildKit's lint, "" converts
	// every stage (a stage the last one does not need without its base's
	// ONBUILD triggers), a target only the stages it needs.
	Target string
	// Platform is the target platform (TARGETPLATFORM, and the platform of
	// a stage without FROM --platform); nil is the host's.
	Platform *ocispec.Platform
	// BaseEnv, when set, gives a base image's env. A stage whose base it
	// knows is judged as BuildKit does, knowing the image's config: every
	// name the Dockerfile uses and neither the image nor the stage defines
	// is UndefinedVar. Without it, or for an image it does not know, only
	// likely mistakes are reported.
	BaseEnv BaseEnvFunc
}

// Check returns every finding for the Dockerfile, in line order per rule
// group, without the rules that need the build context.
func Check(df *dockerfile.Dockerfile) []Finding {
	return CheckWith(df, Options{})
}

// CheckWith is Check with the build context's inputs.
func CheckWith(df *dockerfile.Dockerfile, o Options) []Finding {
	return Run(df, o).Findings
}

// Result is what lint found, and the error that stopped the conversion it
// runs in, if one did (BuildKit's lint reports it as its build error).
type Result struct {
	Findings []Finding
	Err      *dockerfile.LocationError
}

// Run is CheckWith, with the build's error.
func Run(df *dockerfile.Dockerfile, o Options) Result {
	var out []Finding
	for _, w := range df.Warnings {
		out = append(out, Finding{Rule: w.Rule, Message: w.Message, File: w.Location.File, Line: w.Location.Line, Severity: "warning",
			Description: w.Description, URL: w.URL, Ranges: w.Ranges})
	}
	c := newChecker(df)
	c.opts = o
	c.structure()
	for i := range df.Stages {
		c.stage(&df.Stages[i], i == len(df.Stages)-1)
	}
	c.unusedStages()
	c.expansions(o)
	return Result{Findings: append(out, c.found...), Err: c.err}
}

type checker struct {
	df    *dockerfile.Dockerfile
	opts  Options
	lint  *linter.Linter // BuildKit's rules, configured by `# check=`
	found []Finding
	err   *dockerfile.LocationError // the conversion's, if it failed
}

func newChecker(df *dockerfile.Dockerfile) *checker {
	c := &checker{df: df}
	// Parse already rejected a `# check=` it cannot read.
	cfg, err := linter.ParseLintOptions(df.Check)
	if err != nil {
		cfg = &linter.Config{}
	}
	cfg.Warn = func(rule, desc, url, msg string, ranges []parser.Range) {
		loc := df.Locate(ranges)
		c.found = append(c.found, Finding{Rule: rule, Message: msg, File: loc.File, Line: loc.Line, Severity: "warning",
			Description: desc, URL: url, Ranges: ranges})
	}
	c.lint = linter.New(cfg)
	return c
}

// skipped reports whether `# check=skip=` turns a rule off.
func (c *checker) skipped(rule string) bool {
	_, ok := c.lint.SkippedRules[rule]
	return ok || c.lint.SkipAll
}

func (c *checker) add(rule string, ranges []parser.Range, advice, format string, args ...any) {
	if c.skipped(rule) {
		return
	}
	loc := c.df.Locate(ranges)
	c.found = append(c.found, Finding{Rule: rule, Message: fmt.Sprintf(format, args...), File: loc.File, Line: loc.Line, Advice: advice, Severity: "warning", Ranges: ranges,
		Description: buildkitRuleInfo[rule].description, URL: buildkitRuleInfo[rule].url})
}

var (
	secretWords = regexp.MustCompile(`(?i)(?:_|^)(?:apikey|auth|credential|credentials|key|password|pword|passwd|secret|token)(?:_|$)`)
	secretAllow = regexp.MustCompile(`(?i)(?:_|^)(?:public|file|version)(?:_|$)`)
	toolchain   = regexp.MustCompile(`^(?:[^/]+/)*(golang|node|python|rust|maven|gradle|openjdk)(?::([^@]*))?`)
)

// LooksSecret reports whether a variable name looks like it holds a secret,
// with BuildKit's SecretsUsedInArgOrEnv word rules.
func LooksSecret(name string) bool {
	return secretWords.MatchString(name) && !secretAllow.MatchString(name)
}

func (c *checker) stage(st *instructions.Stage, final bool) {
	if st.Platform != "" && !strings.Contains(st.Platform, "$") {
		c.add("FromPlatformFlagConstDisallowed", st.Location, "", "FROM --platform flag should not use constant value %q", st.Platform)
	}
	if st.Platform == "$TARGETPLATFORM" || st.Platform == "${TARGETPLATFORM}" {
		c.add("RedundantTargetPlatform", st.Location, "", "Setting platform to predefined %s in FROM is redundant as this is the default behavior", st.Platform)
	}
	counts := map[string]int{}
	user, workdirSet := "", false
	copiedAll := false
	for _, cmd := range st.Commands {
		switch cmd := cmd.(type) {
		case *instructions.CmdCommand, *instructions.EntrypointCommand, *instructions.HealthCheckCommand:
			name := strings.ToUpper(cmd.Name())
			if counts[name]++; counts[name] == 2 {
				c.add("MultipleInstructionsDisallowed", cmd.Location(), "", "Multiple %s instructions should not be used in the same stage because only the last one will be used", name)
			}
			c.jsonArgs(cmd)
		case *instructions.WorkdirCommand:
			if !workdirSet && !strings.HasPrefix(cmd.Path, "/") && !strings.HasPrefix(cmd.Path, "$") {
				c.add("WorkdirRelativePath", cmd.Location(), "", "Relative workdir %q can have unexpected results if the base image changes", cmd.Path)
			}
			workdirSet = true
		case *instructions.UserCommand:
			user = cmd.User
		case *instructions.ArgCommand:
			for _, a := range cmd.Args {
				c.secret("ARG", a.Key, cmd.Location())
			}
		case *instructions.LabelCommand:
			c.legacyKeyValue(cmd)
		case *instructions.EnvCommand:
			c.legacyKeyValue(cmd)
			for _, kv := range cmd.Env {
				c.secret("ENV", kv.Key, cmd.Location())
			}
		case *instructions.ExposeCommand:
			for _, p := range cmd.Ports {
				if strings.ContainsAny(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") {
					c.add("ExposeProtoCasing", cmd.Location(), "", "Defined protocol '%s' in EXPOSE instruction should be lowercase", p)
				}
			}
		case *instructions.CopyCommand:
			if isCopyAll(cmd) {
				copiedAll = true
			}
		case *instructions.RunCommand:
			c.run(cmd, copiedAll)
		}
	}
	if final {
		c.finalStage(st, user)
	}
}

func (c *checker) jsonArgs(cmd instructions.Command) {
	var shellForm bool
	switch cmd := cmd.(type) {
	case *instructions.CmdCommand:
		shellForm = cmd.PrependShell
	case *instructions.EntrypointCommand:
		shellForm = cmd.PrependShell
	}
	if shellForm {
		c.add("JSONArgsRecommended", cmd.Location(), "the shell form runs the program as a child of /bin/sh, so it does not receive signals such as SIGTERM",
			"JSON arguments recommended for %s to prevent unintended behavior related to OS signals", strings.ToUpper(cmd.Name()))
	}
}

func (c *checker) secret(instruction, name string, loc []parser.Range) {
	if LooksSecret(name) {
		c.add("SecretsUsedInArgOrEnv", loc, "ARG and ENV values are stored in the image and its history; pass secrets with --secret and RUN --mount=type=secret",
			"Do not use ARG or ENV instructions for sensitive data (%s %q)", instruction, name)
	}
}

// seedRules are kiln's own advice; BuildKit's rules are every other name.
var seedRules = map[string]bool{
	"CopyAllBeforeInstall": true, "NpmOnlyProductionDeprecated": true, "SecretFileInLayer": true,
	"FinalStageRunsAsRoot": true, "FinalStageToolchainImage": true, "UnusedStage": true,
}

// IsBuildKitRule reports whether a finding is one BuildKit also reports
// (kiln build prints those as warnings, as BuildKit does).
func IsBuildKitRule(rule string) bool { return !seedRules[rule] }

// ErrorsOn reports whether the Dockerfile's `# check=error=true` makes
// findings fail the check.
func ErrorsOn(df *dockerfile.Dockerfile) bool {
	for _, part := range strings.Split(df.Check, ";") {
		if k, v, ok := strings.Cut(strings.TrimSpace(part), "="); ok && k == "error" && v == "true" {
			return true
		}
	}
	return false
}
