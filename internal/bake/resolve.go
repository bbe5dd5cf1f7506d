package bake

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// SetBlockSource remembers where a group is defined, for errors.
func (g *Group) SetBlockSource(b *hcl.Block) { g.def = b.DefRange }

// Resolved is what bake builds: the targets by name, and the groups that
// were asked for (with "default" listing the names given, as buildx prints).
type Resolved struct {
	Groups  map[string]*Group  `json:"group,omitempty"`
	Targets map[string]*Target `json:"target"`
}

// Resolve picks the targets names ask for (target or group names, glob
// patterns allowed), merges inherits, applies the --set overrides and
// loads the targets that target: contexts name.
func (c *Config) Resolve(names, overrides []string) (*Resolved, error) {
	if len(names) == 0 {
		names = []string{"default"}
	}
	var matched []string
	for _, n := range names {
		m, err := c.matchNames(strings.ReplaceAll(n, ".", "_"))
		if err != nil {
			return nil, err
		}
		matched = append(matched, m...)
	}
	names = dedup(matched)
	o, err := c.parseOverrides(overrides)
	if err != nil {
		return nil, err
	}
	r := &Resolved{Targets: map[string]*Target{}, Groups: map[string]*Group{}}
	for _, n := range names {
		targets, groups, err := c.expandGroup(n)
		if err != nil {
			return nil, err
		}
		for _, tn := range targets {
			t, err := c.ResolveTarget(tn, o)
			if err != nil {
				return nil, err
			}
			r.Targets[tn] = t
		}
		for _, gn := range groups {
			g := *c.group(gn)
			g.Targets = slices.Clone(g.Targets)
			r.Groups[gn] = &g
		}
	}
	// buildx prints the names asked for as the default group.
	for _, n := range names {
		g, ok := r.Groups["default"]
		if ok && n == "default" {
			continue
		}
		if !ok {
			g = &Group{Name: "default"}
			r.Groups["default"] = g
		}
		g.Targets = append(g.Targets, n)
	}
	if g := r.Groups["default"]; g != nil {
		g.Targets = dedup(g.Targets)
		slices.Sort(g.Targets)
	}
	for name, t := range r.Targets {
		if err := c.loadLinks(name, t, r.Targets, o, nil); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// matchNames expands a glob pattern over group and target names.
func (c *Config) matchNames(pattern string) ([]string, error) {
	if !strings.ContainsAny(pattern, "*?[]") {
		return []string{pattern}, nil
	}
	var names []string
	for _, g := range c.Groups {
		if ok, _ := path.Match(pattern, g.Name); ok {
			names = append(names, g.Name)
		}
	}
	for _, t := range c.Targets {
		if ok, _ := path.Match(pattern, t.Name); ok {
			names = append(names, t.Name)
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("could not find any target matching %q", pattern)
	}
	return names, nil
}

// expandGroup lists the targets a name stands for (a target stands for
// itself) and the groups passed through. A group that contains itself is
// an error.
func (c *Config) expandGroup(name string) (targets, groups []string, err error) {
	var walk func(name string, stack []string) error
	walk = func(name string, stack []string) error {
		g := c.group(name)
		if slices.Contains(stack, name) && c.target(name) != nil {
			g = nil // a group named like one of its targets (a matrix's) lists that target
		}
		if g == nil {
			if c.target(name) == nil {
				if len(stack) == 0 {
					return fmt.Errorf("failed to find target %s", name)
				}
				return c.group(stack[len(stack)-1]).at("group %q names %q, which is neither a target nor a group", stack[len(stack)-1], name)
			}
			targets = append(targets, name)
			return nil
		}
		if slices.Contains(stack, name) {
			return g.at("group %q contains itself: %s", name, strings.Join(append(stack, name), " → "))
		}
		groups = append(groups, name)
		for _, t := range g.Targets {
			if err := walk(t, append(stack, name)); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(name, nil); err != nil {
		return nil, nil, err
	}
	return dedup(targets), dedup(groups), nil
}

// ResolveTarget is a target with its inherits merged under it (in order),
// the overrides applied, the defaults filled in: context ".", Dockerfile.
func (c *Config) ResolveTarget(name string, o overrides) (*Target, error) {
	t, err := c.inherit(name, nil, o)
	if err != nil {
		return nil, err
	}
	t.Inherits = nil
	if t.Context == nil {
		s := "."
		t.Context = &s
	}
	if t.Dockerfile == nil || *t.Dockerfile == "" {
		s := "Dockerfile"
		t.Dockerfile = &s
	}
	return t, nil
}

func (c *Config) inherit(name string, stack []string, o overrides) (*Target, error) {
	def := c.target(name)
	if def == nil {
		if len(stack) == 0 {
			return nil, fmt.Errorf("failed to find target %s", name)
		}
		from := c.target(stack[len(stack)-1])
		return nil, from.at("target %q inherits %q, which is not defined", from.Name, name)
	}
	if slices.Contains(stack, name) {
		return nil, def.at("inherits cycle: %s", strings.Join(append(stack, name), " → "))
	}
	merged := &Target{}
	for _, parent := range def.Inherits {
		p, err := c.inherit(parent, append(stack, name), o)
		if err != nil {
			return nil, err
		}
		merged.Merge(p)
	}
	t := &Target{}
	t.Merge(merged)
	t.Merge(def)
	t.Name, t.def = name, def.def
	if err := t.applyOverrides(o[name]); err != nil {
		return nil, err
	}
	t.normalize()
	return t, nil
}

// loadLinks resolves the targets named by target: contexts, which are
// built for their user only (no output), and refuses loops.
func (c *Config) loadLinks(name string, t *Target, m map[string]*Target, o overrides, visited []string) error {
	visited = append(visited, name)
	for _, v := range t.Contexts {
		link, ok := strings.CutPrefix(v, "target:")
		if !ok {
			continue
		}
		if link == name {
			return t.at("target %s cannot link to itself", link)
		}
		if slices.Contains(visited, link) {
			return t.at("infinite loop from %s to %s", name, link)
		}
		t2, ok := m[link]
		if !ok {
			if c.target(link) == nil {
				return t.at("target %q has context target:%s, which is not defined", name, link)
			}
			var err error
			if t2, err = c.ResolveTarget(link, o); err != nil {
				return err
			}
			t2.Outputs = Exports{{Type: "cacheonly"}}
			t2.linked = true
			m[link] = t2
		}
		if err := c.loadLinks(link, t2, m, o, visited); err != nil {
			return err
		}
		for _, e := range t2.Entitlements {
			if !slices.Contains(t.Entitlements, e) {
				t.Entitlements = append(t.Entitlements, e)
			}
		}
		if len(t.Platforms) > 1 && len(t2.Platforms) > 1 && !subset(t.Platforms, t2.Platforms) {
			return t.at("target %s can't be used by %s because its platforms %v are not a subset of %v", link, name, t.Platforms, t2.Platforms)
		}
	}
	return nil
}

func subset(a, b []string) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

func (g *Group) at(format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if g.def.Filename == "" {
		return fmt.Errorf("%s", msg)
	}
	return &FileError{File: g.def.Filename, Line: g.def.Start.Line, Msg: msg}
}
