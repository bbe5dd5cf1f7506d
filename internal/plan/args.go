package plan

import (
	"maps"
	"slices"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-build/kiln/internal/dockerfile"
	"github.com/kiln-build/kiln/internal/scope"
)

// targetName is the name TARGETSTAGE reports: --target, else the last
// stage's name.
func targetName(stages []instructions.Stage, target string) string {
	if target != "" || len(stages) == 0 {
		return target
	}
	return stages[len(stages)-1].Name
}

// globalArgs evaluates the predefined platform ARGs and the ARGs before the
// first FROM (scope.Globals), as KEY=VALUE.
func (p *Plan) globalArgs(metaArgs []instructions.ArgCommand, opts Options, target string) ([]string, error) {
	predefined := scope.Predefined(opts.BuildPlatform, opts.TargetPlatform, target, opts.BuildArgs)
	env, failed, err := scope.Globals(predefined, metaArgs, p.Escape, opts.BuildArgs)
	if err != nil {
		return nil, dockerfile.ErrorAt(dockerfile.Locate(p.File, failed.Location()), err)
	}
	return scope.Env(env), nil
}

// envMap turns KEY=VALUE pairs into a map, later pairs winning.
func envMap(env []string) map[string]string {
	m := make(map[string]string, len(env))
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

// ArgValue is the value an `ARG key[=default]` inside a stage gives key
// (scope.ArgValue): the --build-arg if given; else the default expanded in
// env (the stage's environment so far); else the global ARG value of the
// same name (predefined platform ARGs included). ok is false if the ARG
// stays unset.
func (p *Plan) ArgValue(kv instructions.KeyValuePairOptional, env []string) (value string, ok bool, err error) {
	return scope.ArgValue(kv, p.BuildArgs, envMap(p.GlobalArgs), func(w string) (string, error) {
		return scope.Expand(w, p.Escape, env)
	})
}

// builtinArgs are build args BuildKit consumes without an ARG declaring them.
var builtinArgs = map[string]bool{
	"HTTP_PROXY": true, "http_proxy": true, "HTTPS_PROXY": true, "https_proxy": true,
	"FTP_PROXY": true, "ftp_proxy": true, "NO_PROXY": true, "no_proxy": true,
	"ALL_PROXY": true, "all_proxy": true, "SOURCE_DATE_EPOCH": true,
}

// unusedBuildArgs lists the build args that no global ARG, no ARG of a
// stage in Order and no builtin consumes.
func (p *Plan) unusedBuildArgs(metaArgs []instructions.ArgCommand) []string {
	used := map[string]bool{}
	for _, kv := range scope.Predefined(ocispecs.Platform{}, ocispecs.Platform{}, "", nil) {
		used[kv.Key] = true
	}
	declare := func(cmd *instructions.ArgCommand) {
		for _, kv := range cmd.Args {
			used[kv.Key] = true
		}
	}
	for i := range metaArgs {
		declare(&metaArgs[i])
	}
	for _, s := range p.Order {
		for _, cmd := range s.Commands {
			if a, ok := cmd.(*instructions.ArgCommand); ok {
				declare(a)
			}
		}
	}
	var unused []string
	for _, k := range slices.Sorted(maps.Keys(p.BuildArgs)) {
		if !used[k] && !builtinArgs[k] && !strings.HasPrefix(k, "BUILDKIT_") {
			unused = append(unused, k)
		}
	}
	return unused
}

// lex returns a BuildKit word expander for the Dockerfile's escape character.
func lex(escape rune) *shell.Lex {
	return shell.NewLex(escape)
}
