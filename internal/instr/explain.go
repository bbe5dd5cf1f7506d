package instr

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	digest "github.com/opencontainers/go-digest"

	"github.com/kiln-build/kiln/internal/cachekey"
)

// explainPath is where the key inputs of "this step of this Dockerfile" were
// recorded last time, so a miss can say what changed.
func (e *Worker) explainPath(s *State) string {
	id := digest.FromString(strings.Join([]string{e.Context.Root, e.Context.Dockerfile, s.Stage, fmt.Sprint(s.Step), s.Platform}, "\x00"))
	return filepath.Join(e.Store.Root(), "cache", "explain-"+id.Encoded()[:32])
}

// explained is what --explain-cache keeps of a step: its key inputs and,
// for COPY from the context, a summary of every file it hashed.
type explained struct {
	Key   cachekey.Step     `json:"key"`
	Files map[string]string `json:"files,omitempty"`
}

// fileRecorder collects the files a COPY hashes, when --explain-cache is on.
func (e *Worker) fileRecorder(s *State) func(rel, summary string) {
	if !e.ExplainCache {
		return nil
	}
	s.files = map[string]string{}
	return func(rel, summary string) { s.files[rel] = summary }
}

// recordKey remembers the step's key inputs for the next build's --explain-cache.
func (e *Worker) recordKey(s *State, k cachekey.Step) {
	files := s.files
	s.files = nil
	if !e.ExplainCache && files == nil {
		// Keep the previous record's file list: only --explain-cache builds make one.
		if old, ok := e.loadExplained(s); ok && fmt.Sprint(old.Key) == fmt.Sprint(k) {
			return
		}
	}
	data, err := json.Marshal(explained{Key: k, Files: files})
	if err != nil {
		return
	}
	p := e.explainPath(s)
	if old, err := os.ReadFile(p); err == nil && string(old) == string(data) {
		return
	}
	_ = os.WriteFile(p, data, 0o600) // best effort: it only explains
}

func (e *Worker) loadExplained(s *State) (explained, bool) {
	var old explained
	data, err := os.ReadFile(e.explainPath(s))
	if err != nil || json.Unmarshal(data, &old) != nil {
		return old, false
	}
	return old, true
}

// explainMiss says which input of the step differs from the last build.
func (e *Worker) explainMiss(s *State, k cachekey.Step) string {
	old, ok := e.loadExplained(s)
	if !ok {
		return "no earlier build of this step in this store"
	}
	why := diffKeys(old.Key, k)
	if files := diffFiles(old.Files, s.files); files != "" {
		why = strings.Replace(why, "the files it copies changed (content or metadata)", files, 1)
	}
	return why
}

// diffFiles names the copied files that were added, removed or changed.
func diffFiles(old, cur map[string]string) string {
	if old == nil || cur == nil {
		return ""
	}
	var changes []string
	for p, sum := range cur {
		if o, ok := old[p]; !ok {
			changes = append(changes, "added "+p)
		} else if o != sum {
			changes = append(changes, "changed "+p)
		}
	}
	for p := range old {
		if _, ok := cur[p]; !ok {
			changes = append(changes, "removed "+p)
		}
	}
	sort.Strings(changes)
	if len(changes) > 5 {
		changes = append(changes[:5], fmt.Sprintf("and %d more", len(changes)-5))
	}
	return "copied files: " + strings.Join(changes, ", ")
}

func diffKeys(old, cur cachekey.Step) string {
	var why []string
	add := func(format string, args ...any) { why = append(why, fmt.Sprintf(format, args...)) }
	if old.Parent != cur.Parent {
		add("an earlier step or the base image changed")
	}
	if fmt.Sprint(old.Args) != fmt.Sprint(cur.Args) {
		add("the instruction changed: %q → %q", strings.Join(old.Args, " "), strings.Join(cur.Args, " "))
	}
	for _, d := range diffEnv(old.Env, cur.Env) {
		add("%s", d)
	}
	if fmt.Sprint(old.Inputs) != fmt.Sprint(cur.Inputs) {
		add("the files it copies changed (content or metadata)")
	}
	if old.WorkDir != cur.WorkDir || old.User != cur.User || old.Network != cur.Network {
		add("WORKDIR, USER or --network changed")
	}
	if fmt.Sprint(old.Mounts) != fmt.Sprint(cur.Mounts) {
		add("its --mount options or bind-mounted files changed")
	}
	if fmt.Sprint(old.Options) != fmt.Sprint(cur.Options) {
		add("--add-host, --shm-size or --ulimit changed")
	}
	if len(why) == 0 {
		return "its inputs are unchanged, but the cached result was pruned, or --no-cache was given"
	}
	return strings.Join(why, "; ")
}

// diffEnv names variables (ENV and ARG values) that differ.
func diffEnv(old, cur []string) []string {
	toMap := func(env []string) map[string]string {
		m := map[string]string{}
		for _, kv := range env {
			k, v, _ := strings.Cut(kv, "=")
			m[k] = v
		}
		return m
	}
	om, cm := toMap(old), toMap(cur)
	var out []string
	for k, v := range cm {
		if ov, ok := om[k]; !ok {
			out = append(out, fmt.Sprintf("variable %s was added (%q)", k, v))
		} else if ov != v {
			out = append(out, fmt.Sprintf("variable %s changed: %q → %q", k, ov, v))
		}
	}
	for k := range om {
		if _, ok := cm[k]; !ok {
			out = append(out, fmt.Sprintf("variable %s was removed", k))
		}
	}
	return out
}
