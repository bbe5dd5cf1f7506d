// Package bake reads docker-bake.hcl, docker-bake.json and compose files as
// `docker buildx bake` (v0.38.2, the buildx of kiln's BuildKit) reads them,
// and resolves the targets to build: variables, functions, inherits,
// matrix, groups, --set overrides and target: contexts. It builds nothing;
// internal/cli hands each resolved target to the build.
package bake

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// Config is every group and target of the files, before resolution.
type Config struct {
	Groups  []*Group  `json:"group" hcl:"group,block" cty:"group"`
	Targets []*Target `json:"target" hcl:"target,block" cty:"target"`
}

// Group names targets (and groups) built together.
type Group struct {
	Name        string   `json:"-" hcl:"name,label" cty:"name"`
	Description string   `json:"description,omitempty" hcl:"description,optional" cty:"description"`
	Targets     []string `json:"targets" hcl:"targets" cty:"targets"`

	def hcl.Range
}

// Target is one build, with buildx's attribute names.
type Target struct {
	Name        string `json:"-" hcl:"name,label" cty:"name"`
	Description string `json:"description,omitempty" hcl:"description,optional" cty:"description"`
	// Inherits is the only field --set cannot change.
	Inherits []string `json:"inherits,omitempty" hcl:"inherits,optional" cty:"inherits"`

	Annotations      []string           `json:"annotations,omitempty" hcl:"annotations,optional" cty:"annotations"`
	Attest           Attests            `json:"attest,omitempty" hcl:"attest,optional" cty:"attest"`
	Context          *string            `json:"context,omitempty" hcl:"context,optional" cty:"context"`
	Contexts         map[string]string  `json:"contexts,omitempty" hcl:"contexts,optional" cty:"contexts"`
	Dockerfile       *string            `json:"dockerfile,omitempty" hcl:"dockerfile,optional" cty:"dockerfile"`
	DockerfileInline *string            `json:"dockerfile-inline,omitempty" hcl:"dockerfile-inline,optional" cty:"dockerfile-inline"`
	Args             map[string]*string `json:"args,omitempty" hcl:"args,optional" cty:"args"`
	Labels           map[string]*string `json:"labels,omitempty" hcl:"labels,optional" cty:"labels"`
	Tags             []string           `json:"tags,omitempty" hcl:"tags,optional" cty:"tags"`
	CacheFrom        Caches             `json:"cache-from,omitempty" hcl:"cache-from,optional" cty:"cache-from"`
	CacheTo          Caches             `json:"cache-to,omitempty" hcl:"cache-to,optional" cty:"cache-to"`
	Target           *string            `json:"target,omitempty" hcl:"target,optional" cty:"target"`
	Secrets          Secrets            `json:"secret,omitempty" hcl:"secret,optional" cty:"secret"`
	SSH              SSHKeys            `json:"ssh,omitempty" hcl:"ssh,optional" cty:"ssh"`
	Platforms        []string           `json:"platforms,omitempty" hcl:"platforms,optional" cty:"platforms"`
	Outputs          Exports            `json:"output,omitempty" hcl:"output,optional" cty:"output"`
	Pull             *bool              `json:"pull,omitempty" hcl:"pull,optional" cty:"pull"`
	NoCache          *bool              `json:"no-cache,omitempty" hcl:"no-cache,optional" cty:"no-cache"`
	NetworkMode      *string            `json:"network,omitempty" hcl:"network,optional" cty:"network"`
	NoCacheFilter    []string           `json:"no-cache-filter,omitempty" hcl:"no-cache-filter,optional" cty:"no-cache-filter"`
	ShmSize          *string            `json:"shm-size,omitempty" hcl:"shm-size,optional" cty:"shm-size"`
	Ulimits          []string           `json:"ulimits,omitempty" hcl:"ulimits,optional" cty:"ulimits"`
	Call             *string            `json:"call,omitempty" hcl:"call,optional" cty:"call"`
	Entitlements     []string           `json:"entitlements,omitempty" hcl:"entitlements,optional" cty:"entitlements"`
	ExtraHosts       map[string]*string `json:"extra-hosts,omitempty" hcl:"extra-hosts,optional" cty:"extra-hosts"`

	// linked marks a target built only as another's target: context.
	linked bool
	// def is where the target is defined, for errors.
	def hcl.Range
}

// Linked reports whether the target is built only because another target
// names it as a target: context (buildx gives it a cacheonly output).
func (t *Target) Linked() bool { return t.linked }

// SetBlockSource is hclparser's hook: it remembers where the block is.
func (t *Target) SetBlockSource(b *hcl.Block) { t.def = b.DefRange }

// MarshalJSON escapes interpolation sequences in free-text values, so that
// --print's output reads back as the same definition (as buildx).
func (t *Target) MarshalJSON() ([]byte, error) {
	type plain Target
	c := plain(*t)
	esc := func(s string) string {
		return strings.ReplaceAll(strings.ReplaceAll(s, "${", "$${"), "%{", "%%{")
	}
	escMap := func(m map[string]*string) map[string]*string {
		if m == nil {
			return nil
		}
		out := make(map[string]*string, len(m))
		for k, v := range m {
			if v != nil {
				s := esc(*v)
				v = &s
			}
			out[k] = v
		}
		return out
	}
	c.Annotations = slices.Clone(t.Annotations)
	for i, v := range c.Annotations {
		c.Annotations[i] = esc(v)
	}
	if t.DockerfileInline != nil {
		s := esc(*t.DockerfileInline)
		c.DockerfileInline = &s
	}
	c.Labels, c.Args, c.ExtraHosts = escMap(t.Labels), escMap(t.Args), escMap(t.ExtraHosts)
	return json.Marshal(c)
}

// Merge lays t2 over t, with buildx's rules: scalars replace, maps merge
// key by key, and each list either replaces or appends as buildx does.
func (t *Target) Merge(t2 *Target) {
	if t2.Context != nil {
		t.Context = t2.Context
	}
	if t2.Dockerfile != nil {
		t.Dockerfile = t2.Dockerfile
	}
	if t2.DockerfileInline != nil {
		t.DockerfileInline = t2.DockerfileInline
	}
	t.Args = mergePtrMap(t.Args, t2.Args)
	for k, v := range t2.Contexts {
		if t.Contexts == nil {
			t.Contexts = map[string]string{}
		}
		t.Contexts[k] = v
	}
	t.Labels = mergePtrMap(t.Labels, t2.Labels)
	t.ExtraHosts = mergePtrMap(t.ExtraHosts, t2.ExtraHosts)
	if t2.Tags != nil { // replaces
		t.Tags = t2.Tags
	}
	if t2.Target != nil {
		t.Target = t2.Target
	}
	if t2.Call != nil {
		t.Call = t2.Call
	}
	if t2.Annotations != nil { // appends
		t.Annotations = append(t.Annotations, t2.Annotations...)
	}
	if t2.Attest != nil {
		t.Attest = mergeAttests(t.Attest, t2.Attest)
	}
	if t2.Secrets != nil {
		t.Secrets = t.Secrets.merge(t2.Secrets)
	}
	if t2.SSH != nil {
		t.SSH = t.SSH.merge(t2.SSH)
	}
	if t2.Platforms != nil {
		t.Platforms = t2.Platforms
	}
	if t2.CacheFrom != nil {
		t.CacheFrom = t.CacheFrom.merge(t2.CacheFrom)
	}
	if t2.CacheTo != nil {
		t.CacheTo = t2.CacheTo
	}
	if t2.Outputs != nil {
		t.Outputs = t2.Outputs
	}
	if t2.Pull != nil {
		t.Pull = t2.Pull
	}
	if t2.NoCache != nil {
		t.NoCache = t2.NoCache
	}
	if t2.NetworkMode != nil {
		t.NetworkMode = t2.NetworkMode
	}
	if t2.NoCacheFilter != nil {
		t.NoCacheFilter = append(t.NoCacheFilter, t2.NoCacheFilter...)
	}
	if t2.ShmSize != nil {
		t.ShmSize = t2.ShmSize
	}
	if t2.Ulimits != nil {
		t.Ulimits = append(t.Ulimits, t2.Ulimits...)
	}
	if t2.Description != "" {
		t.Description = t2.Description
	}
	if t2.Entitlements != nil {
		t.Entitlements = append(t.Entitlements, t2.Entitlements...)
	}
	t.Inherits = append(t.Inherits, t2.Inherits...)
	if t.def.Filename == "" {
		t.def = t2.def
	}
}

// Merge is hclparser's hook for a block defined twice (an override file).
func (g *Group) Merge(g2 *Group) {
	for _, t := range g2.Targets {
		if !slices.Contains(g.Targets, t) {
			g.Targets = append(g.Targets, t)
		}
	}
	if g2.Description != "" {
		g.Description = g2.Description
	}
}

func mergePtrMap(m, m2 map[string]*string) map[string]*string {
	for k, v := range m2 {
		if v == nil {
			continue
		}
		if m == nil {
			m = map[string]*string{}
		}
		m[k] = v
	}
	return m
}

// mergeAttests keeps one attestation per type, the later one winning.
func mergeAttests(a, b Attests) Attests {
	out := slices.Clone(a)
	for _, e := range b {
		i := slices.IndexFunc(out, func(x *Attest) bool { return x.Type == e.Type })
		if i >= 0 {
			out[i] = e
		} else {
			out = append(out, e)
		}
	}
	return out
}

// normalize drops duplicates and empty contexts, after merging.
func (t *Target) normalize() {
	t.Annotations = dedup(t.Annotations)
	t.Tags = dedup(t.Tags)
	t.Platforms = dedup(t.Platforms)
	t.NoCacheFilter = dedup(t.NoCacheFilter)
	t.Ulimits = dedup(t.Ulimits)
	t.Secrets = t.Secrets.normalize()
	t.SSH = t.SSH.normalize()
	t.CacheFrom = t.CacheFrom.normalize()
	t.CacheTo = t.CacheTo.normalize()
	t.Outputs = t.Outputs.normalize()
	if t.NetworkMode != nil && *t.NetworkMode == "host" {
		t.Entitlements = append(t.Entitlements, "network.host")
	}
	t.Entitlements = dedup(t.Entitlements)
	maps.DeleteFunc(t.Contexts, func(_, v string) bool { return v == "" })
	if len(t.Contexts) == 0 {
		t.Contexts = nil
	}
}

func dedup(s []string) []string {
	if len(s) == 0 {
		return s
	}
	var out []string
	seen := map[string]bool{}
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}
