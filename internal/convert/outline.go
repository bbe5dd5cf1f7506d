package convert

import (
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	pb "github.com/moby/buildkit/solver/pb"

	"github.com/kiln-build/kiln/internal/dockerfile"
	"github.com/kiln-build/kiln/internal/subrequest"
)

// argInfo is an ARG as BuildKit's outline knows it: its definition, value
// (default expanded, or the --build-arg) and the global ARGs its default
// names.
type argInfo struct {
	def   instructions.KeyValuePairOptional
	value string
	deps  map[string]bool
	loc   []parser.Range
}

// outlineStage is what one stage contributes to an outline.
type outlineStage struct {
	st      *instructions.Stage
	all     map[string]argInfo // the global ARGs, then the stage's own
	used    map[string]bool    // ARGs FROM names and the stage declares
	secrets map[string]subrequest.Needed
	ssh     map[string]subrequest.Needed
	base    *outlineStage
	deps    []*outlineStage // COPY --from and RUN --mount=from= stages
	done    bool
}

// Outline is BuildKit's outline subrequest for target ("" the last
// stage): the build args, secrets and ssh sockets the target and the
// stages it needs use, in line order. ARG defaults are expanded with the
// ARGs before them; a base image's ENV is not known here (BuildKit
// resolves it), so a default naming an ENV of the base image reads as if
// it were unset.
// predefined is the environment of the predefined ARGs (scope.Predefined):
// a stage's `ARG TARGETPLATFORM` inherits it and is no build arg of its own.
func Outline(df *dockerfile.Dockerfile, target string, buildArgs map[string]string, predefined []string) (*subrequest.Outline, error) {
	stages, metaArgs, err := df.Reparse()
	if err != nil {
		return nil, err
	}
	if len(stages) == 0 {
		return nil, fmt.Errorf("%s: the Dockerfile has no stage", df.Name)
	}
	lex := shell.NewLex(df.Escape)
	globals, globalEnv := outlineGlobals(lex, metaArgs, buildArgs, predefined)
	byName := map[string]*outlineStage{}
	all := make([]*outlineStage, len(stages))
	for i := range stages {
		st := &stages[i]
		o := &outlineStage{st: st, all: copyArgs(globals), used: map[string]bool{},
			secrets: map[string]subrequest.Needed{}, ssh: map[string]subrequest.Needed{}}
		for _, w := range []string{st.BaseName, st.Platform} {
			if m, err := lex.ProcessWordWithMatches(w, shell.EnvsFromSlice(globalEnv)); err == nil {
				for k := range m.Matched {
					o.used[k] = true
				}
			}
		}
		o.base = byName[strings.ToLower(st.BaseName)]
		all[i] = o
		if st.Name != "" {
			byName[strings.ToLower(st.Name)] = o
		}
	}
	var tgt *outlineStage
	if target == "" {
		tgt = all[len(all)-1]
	} else if tgt = byName[strings.ToLower(target)]; tgt == nil {
		return nil, fmt.Errorf("target stage %q could not be found", target)
	}
	tgt.dispatch(lex, globalEnv, buildArgs, byName, all)
	out := &subrequest.Outline{Name: tgt.st.Name, Description: tgt.st.DocComment, Sources: [][]byte{df.Source}}
	out.Args = tgt.args(map[string]bool{})
	out.Secrets = tgt.needed(map[string]bool{}, func(o *outlineStage) map[string]subrequest.Needed { return o.secrets })
	out.SSH = tgt.needed(map[string]bool{}, func(o *outlineStage) map[string]subrequest.Needed { return o.ssh })
	sort.SliceStable(out.Args, func(i, j int) bool { return line(out.Args[i].Location) < line(out.Args[j].Location) })
	sort.SliceStable(out.Secrets, func(i, j int) bool { return line(out.Secrets[i].Location) < line(out.Secrets[j].Location) })
	sort.SliceStable(out.SSH, func(i, j int) bool { return line(out.SSH[i].Location) < line(out.SSH[j].Location) })
	return out, nil
}

// outlineGlobals reads the ARGs before the first FROM: each default is
// expanded with the ones before it, a --build-arg replaces it.
func outlineGlobals(lex *shell.Lex, metaArgs []instructions.ArgCommand, buildArgs map[string]string, predefined []string) (map[string]argInfo, []string) {
	infos := map[string]argInfo{}
	env := append([]string(nil), predefined...)
	for _, c := range metaArgs {
		for _, kv := range c.Args {
			info := argInfo{def: kv, loc: c.Location()}
			if kv.Value != nil {
				m, err := lex.ProcessWordWithMatches(*kv.Value, shell.EnvsFromSlice(env))
				if err == nil {
					info.value = m.Result
					info.deps = map[string]bool{}
					for k := range m.Matched {
						if k != kv.Key {
							info.deps[k] = true
						}
					}
					for k := range infos[kv.Key].deps {
						info.deps[k] = true
					}
				}
			}
			if v, ok := buildArgs[kv.Key]; ok {
				info.value = v
			}
			if kv.Value != nil || buildArgs[kv.Key] != "" {
				env = append(env, kv.Key+"="+info.value)
			}
			infos[kv.Key] = info
		}
	}
	return infos, env
}

// dispatch reads the stage's ARGs and mounts, then those of the stages
// it needs, once each.
func (o *outlineStage) dispatch(lex *shell.Lex, globalEnv []string, buildArgs map[string]string, byName map[string]*outlineStage, all []*outlineStage) {
	if o.done {
		return
	}
	o.done = true
	var env []string
	for _, cmd := range o.st.Commands {
		switch c := cmd.(type) {
		case *instructions.ArgCommand:
			for _, kv := range c.Args {
				o.used[kv.Key] = true
				v, hasValue := buildArgs[kv.Key]
				if !hasValue && kv.Value == nil {
					if g, ok := lookupEnv(globalEnv, kv.Key); ok {
						env = append(env, kv.Key+"="+g)
						continue // inherited: the global ARG is what the outline shows
					}
				}
				if !hasValue && kv.Value != nil {
					if w, _, err := lex.ProcessWord(*kv.Value, shell.EnvsFromSlice(env)); err == nil {
						v = w
					}
				}
				o.all[kv.Key] = argInfo{def: kv, value: v, loc: c.Location()}
				if hasValue || kv.Value != nil {
					env = append(env, kv.Key+"="+v)
				}
			}
		case *instructions.EnvCommand:
			for _, kv := range c.Env {
				env = append(env, kv.Key+"="+kv.Value)
			}
		case *instructions.CopyCommand:
			if dep := stageRef(c.From, byName, all); dep != nil {
				o.deps = append(o.deps, dep)
			}
		case *instructions.RunCommand:
			o.mounts(c, byName)
		}
	}
	if o.base != nil {
		o.base.dispatch(lex, globalEnv, buildArgs, byName, all)
	}
	for _, d := range o.deps {
		d.dispatch(lex, globalEnv, buildArgs, byName, all)
	}
}

// mounts records RUN's secrets and ssh sockets (the first mention of an id
// wins) and the stages it mounts from. Mounts are parsed when a command is
// expanded: the values as written say what a mount is.
func (o *outlineStage) mounts(c *instructions.RunCommand, byName map[string]*outlineStage) {
	if c.Expand(func(w string) (string, error) { return w, nil }) != nil {
		return
	}
	loc := subrequest.Location(c.Location())
	for _, m := range instructions.GetMounts(c) {
		switch m.Type {
		case instructions.MountTypeSecret:
			id := m.CacheID
			if id == "" {
				id = path.Base(m.Target)
			}
			if _, ok := o.secrets[id]; !ok {
				o.secrets[id] = subrequest.Needed{Name: id, Required: m.Required, Location: loc}
			}
		case instructions.MountTypeSSH:
			id := m.CacheID
			if id == "" {
				id = "default"
			}
			if _, ok := o.ssh[id]; !ok {
				o.ssh[id] = subrequest.Needed{Name: id, Required: m.Required, Location: loc}
			}
		}
		if dep := byName[strings.ToLower(m.From)]; m.From != "" && dep != nil {
			o.deps = append(o.deps, dep)
		}
	}
}

// stageRef is the stage a --from names (by name or index), nil for an image.
func stageRef(from string, byName map[string]*outlineStage, all []*outlineStage) *outlineStage {
	if from == "" {
		return nil
	}
	if i, err := strconv.Atoi(from); err == nil {
		if i >= 0 && i < len(all) {
			return all[i]
		}
		return nil
	}
	return byName[strings.ToLower(from)]
}

// args lists the used ARGs (and the global ARGs their defaults name) of the
// stage, its base and the stages it needs, each name once.
func (o *outlineStage) args(visited map[string]bool) []subrequest.OutlineArg {
	used := map[string]bool{}
	var mark func(k string)
	mark = func(k string) {
		if used[k] {
			return
		}
		used[k] = true
		for d := range o.all[k].deps {
			mark(d)
		}
	}
	for k := range o.used {
		mark(k)
	}
	var out []subrequest.OutlineArg
	for _, k := range sortedKeys(used) {
		a, ok := o.all[k]
		if !ok || visited[k] {
			continue
		}
		visited[k] = true
		out = append(out, subrequest.OutlineArg{Name: a.def.Key, Value: a.value, Description: a.def.DocComment, Location: subrequest.Location(a.loc)})
	}
	if o.base != nil {
		out = append(out, o.base.args(visited)...)
	}
	for _, d := range o.deps {
		out = append(out, d.args(visited)...)
	}
	return out
}

func (o *outlineStage) needed(visited map[string]bool, of func(*outlineStage) map[string]subrequest.Needed) []subrequest.Needed {
	var out []subrequest.Needed
	m := of(o)
	for _, k := range sortedKeys(m) {
		if !visited[k] {
			visited[k] = true
			out = append(out, m[k])
		}
	}
	if o.base != nil {
		out = append(out, o.base.needed(visited, of)...)
	}
	for _, d := range o.deps {
		out = append(out, d.needed(visited, of)...)
	}
	return out
}

func copyArgs(m map[string]argInfo) map[string]argInfo {
	out := make(map[string]argInfo, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func lookupEnv(env []string, key string) (string, bool) {
	val, found := "", false
	for _, kv := range env {
		if k, v, _ := strings.Cut(kv, "="); k == key {
			val, found = v, true
		}
	}
	return val, found
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// line is where a location starts, for BuildKit's line order.
func line(l *pb.Location) int {
	if l == nil || len(l.Ranges) == 0 || l.Ranges[0].Start == nil {
		return 0
	}
	return int(l.Ranges[0].Start.Line)
}
