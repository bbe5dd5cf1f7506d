// Package scope is kiln's one engine for ARG and ENV scoping, as BuildKit's
// dockerfile2llb scopes them: the predefined platform ARGs, the global ARGs
// before the first FROM, a stage's ARGs, and the environments a stage's
// instructions expand with and its RUN processes get. The build (plan,
// instr) and lint use it. It is pure: no I/O.
package scope

import (
	"fmt"
	"strings"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// KV is one variable. Unset is a stage ARG declared with no default and
// given no value: as in BuildKit it is written in RUN's history (FOO=) but
// is neither in RUN's environment nor set for $FOO expansion.
//
// OverEnv is a stage ARG given a value after the last ENV of its name (or
// over the base image's): BuildKit adds it to the state's environment then,
// so RUN and $X expansion see the ARG's value while the image config keeps
// the ENV's; a later ENV of the name wins again (Args.EnvSet).
type KV struct {
	Key, Value string
	Unset      bool
	OverEnv    bool
}

// Predefined returns the platform ARGs BuildKit defines for every build
// (dockerfile2llb/platform.go defaultArgs), in its order; a build argument
// of the same name overrides one. targetStage is TARGETSTAGE ("" means
// "default").
func Predefined(build, target ocispec.Platform, targetStage string, buildArgs map[string]string) []KV {
	if targetStage == "" {
		targetStage = "default"
	}
	kvs := []KV{
		{Key: "BUILDPLATFORM", Value: platforms.Format(build)},
		{Key: "BUILDOS", Value: build.OS},
		{Key: "BUILDOSVERSION", Value: build.OSVersion},
		{Key: "BUILDARCH", Value: build.Architecture},
		{Key: "BUILDVARIANT", Value: build.Variant},
		{Key: "TARGETPLATFORM", Value: platforms.FormatAll(target)},
		{Key: "TARGETOS", Value: target.OS},
		{Key: "TARGETOSVERSION", Value: target.OSVersion},
		{Key: "TARGETARCH", Value: target.Architecture},
		{Key: "TARGETVARIANT", Value: target.Variant},
		{Key: "TARGETSTAGE", Value: targetStage},
	}
	for i, kv := range kvs {
		if v, ok := buildArgs[kv.Key]; ok {
			kvs[i].Value = v
		}
	}
	return kvs
}

// Globals evaluates the ARGs before the first FROM after the predefined
// ones, as BuildKit's buildMetaArgs: a build argument wins over the default;
// a default is expanded with the ARGs before it; an ARG with neither stays
// unset. On an expansion error it returns the ARG that failed.
func Globals(predefined []KV, metaArgs []instructions.ArgCommand, escape rune, buildArgs map[string]string) ([]KV, *instructions.ArgCommand, error) {
	env := append([]KV(nil), predefined...)
	for i, cmd := range metaArgs {
		for _, kv := range cmd.Args {
			v, ok := buildArgs[kv.Key]
			if !ok && kv.Value != nil {
				var err error
				if v, err = Expand(*kv.Value, escape, Env(env)); err != nil {
					return nil, &metaArgs[i], err
				}
				ok = true
			}
			if ok {
				env = append(env, KV{Key: kv.Key, Value: v})
			}
		}
	}
	return env, nil, nil
}

// ArgValue is the value an `ARG key[=default]` inside a stage gives key, as
// BuildKit's dispatchArg: the build argument if given; else the default,
// expanded in the stage's environment; else the global ARG of the same
// name (predefined ones included). set is false if the ARG stays unset.
func ArgValue(kv instructions.KeyValuePairOptional, buildArgs, globals map[string]string, expand func(string) (string, error)) (value string, set bool, err error) {
	if v, ok := buildArgs[kv.Key]; ok {
		return v, true, nil
	}
	if kv.Value != nil {
		v, err := expand(*kv.Value)
		return v, err == nil, err
	}
	v, ok := globals[kv.Key]
	return v, ok, nil
}

// Args are the ARGs a stage declared, in order, with their values.
type Args []KV

// Set declares or redeclares a stage ARG; unset says it got no value (see
// KV.Unset): redeclared so, it keeps the value it had.
func (a *Args) Set(key, value string, unset bool) {
	for i := range *a {
		if (*a)[i].Key == key {
			if !unset {
				(*a)[i].Value, (*a)[i].Unset, (*a)[i].OverEnv = value, false, true
			}
			return
		}
	}
	*a = append(*a, KV{Key: key, Value: value, Unset: unset, OverEnv: !unset})
}

// EnvSet notes an ENV of key: it wins over the stage's ARG of that name
// again, until the ARG is given a value anew (KV.OverEnv).
func (a Args) EnvSet(key string) {
	for i := range a {
		if a[i].Key == key {
			a[i].OverEnv = false
		}
	}
}

// ExpandEnv is the environment that expands $VARs in a stage's
// instruction: its ARGs overridden by the image's ENV, except an ARG given
// a value after that ENV (KV.OverEnv), as in BuildKit.
func (a Args) ExpandEnv(imageEnv []string) []string {
	env := make([]string, 0, len(a)+len(imageEnv))
	for _, kv := range a {
		if !kv.Unset && !kv.OverEnv {
			env = append(env, kv.Key+"="+kv.Value)
		}
	}
	env = append(env, imageEnv...)
	for _, kv := range a {
		if !kv.Unset && kv.OverEnv {
			env = append(env, kv.Key+"="+kv.Value) // later entries win
		}
	}
	return env
}

// RunEnv is the environment of a RUN process: the image's ENV plus the
// ARGs; for a name that is both, ENV wins unless the ARG was given a value
// after it (KV.OverEnv).
func (a Args) RunEnv(imageEnv []string) []string {
	env := append([]string(nil), imageEnv...)
	at := map[string]int{}
	for i, e := range env {
		k, _, _ := strings.Cut(e, "=")
		at[k] = i
	}
	for _, kv := range a {
		switch i, ok := at[kv.Key]; {
		case kv.Unset:
		case ok && kv.OverEnv:
			env[i] = kv.Key + "=" + kv.Value
		case !ok:
			env = append(env, kv.Key+"="+kv.Value)
			at[kv.Key] = len(env) - 1
		}
	}
	return env
}

// Expand expands $VAR and ${VAR...} in word with env (KEY=VALUE, later
// wins), processing quotes and escapes as a Dockerfile word, with BuildKit's
// shell lexer; the result is Bounded.
func Expand(word string, escape rune, env []string) (string, error) {
	res, _, err := shell.NewLex(escape).ProcessWord(word, shell.EnvsFromSlice(env))
	return Bounded(res, err)
}

// MaxExpanded bounds a word after expansion. ARGs that each repeat the
// previous one grow tenfold per line (100 MB and 1.4 GB of memory in 36 s);
// no real value comes near: the kernel passes no single argument or
// environment string over 128 KiB to a RUN.
const MaxExpanded = 1 << 20

// Bounded fails a word that expanded past MaxExpanded.
func Bounded(res string, err error) (string, error) {
	if err == nil && len(res) > MaxExpanded {
		return "", fmt.Errorf("variable expansion gives %d bytes, more than the %d allowed", len(res), MaxExpanded)
	}
	return res, err
}

// Env is kvs as KEY=VALUE.
func Env(kvs []KV) []string {
	out := make([]string, 0, len(kvs))
	for _, kv := range kvs {
		out = append(out, kv.Key+"="+kv.Value)
	}
	return out
}

// Map is kvs as a map, later pairs winning.
func Map(kvs []KV) map[string]string {
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		m[kv.Key] = kv.Value
	}
	return m
}
