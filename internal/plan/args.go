package plan

import (
	"maps"
	"slices"
	"strings"

	"github.com/containerd/platforms"
	"github.com/kiln-build/kiln/internal/dockerfile"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// predefinedArgs returns the platform ARGs BuildKit defines for every build
// (dockerfile2llb/platform.go defaultArgs), in its order, as KEY=VALUE; a
// --build-arg of the same name overrides one.
func predefinedArgs(opts Options, target string) []string {
	bp, tp := opts.BuildPlatform, opts.TargetPlatform
	if target == "" {
		target = "default"
	}
	kvs := [...][2]string{
		{"BUILDPLATFORM", platforms.Format(bp)},
		{"BUILDOS", bp.OS},
		{"BUILDOSVERSION", bp.OSVersion},
		{"BUILDARCH", bp.Architecture},
		{"BUILDVARIANT", bp.Variant},
		{"TARGETPLATFORM", platforms.FormatAll(tp)},
		{"TARGETOS", tp.OS},
		{"TARGETOSVERSION", tp.OSVersion},
		{"TARGETARCH", tp.Architecture},
		{"TARGETVARIANT", tp.Variant},
		{"TARGETSTAGE", target},
	}
	env := make([]string, 0, len(kvs))
	for _, kv := range kvs {
		v := kv[1]
		if ov, ok := opts.BuildArgs[kv[0]]; ok {
			v = ov
		}
		env = append(env, kv[0]+"="+v)
	}
	return env
}

// targetName is the name TARGETSTAGE reports: --target, else the last
// stage's name.
func targetName(stages []instructions.Stage, target string) string {
	if target != "" || len(stages) == 0 {
		return target
	}
	return stages[len(stages)-1].Name
}

// globalArgs evaluates the ARGs before the first FROM in order, as BuildKit's
// buildMetaArgs: a --build-arg wins over the default; a default is expanded
// with the ARGs before it; an ARG with neither stays unset.
func (p *Plan) globalArgs(metaArgs []instructions.ArgCommand, opts Options, target string) ([]string, error) {
	env := predefinedArgs(opts, target)
	for _, cmd := range metaArgs {
		for _, kv := range cmd.Args {
			v, ok := opts.BuildArgs[kv.Key]
			if !ok && kv.Value != nil {
				var err error
				v, err = Expand(*kv.Value, p.Escape, env)
				if err != nil {
					return nil, dockerfile.ErrorAt(dockerfile.Locate(p.File, cmd.Location()), err)
				}
				ok = true
			}
			if ok {
				env = append(env, kv.Key+"="+v)
			}
		}
	}
	return env, nil
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

// ArgValue is the value an `ARG key[=default]` inside a stage gives key, as
// BuildKit's dispatchArg computes it: the --build-arg if given; else the
// default expanded in env (the stage's environment so far); else the global
// ARG value of the same name (predefined platform ARGs included). ok is
// false if the ARG stays unset. A set ARG joins the stage's environment.
func (p *Plan) ArgValue(kv instructions.KeyValuePairOptional, env []string) (value string, ok bool, err error) {
	if v, ok := p.BuildArgs[kv.Key]; ok {
		return v, true, nil
	}
	if kv.Value != nil {
		v, err := Expand(*kv.Value, p.Escape, env)
		return v, err == nil, err
	}
	v, ok := envMap(p.GlobalArgs)[kv.Key]
	return v, ok, nil
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
	for _, kv := range predefinedArgs(Options{}, "") {
		k, _, _ := strings.Cut(kv, "=")
		used[k] = true
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
