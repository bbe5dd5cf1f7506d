package bake

import (
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"
)

// override is one key's --set values for one target.
type override struct {
	Value    string
	ArrValue []string
	Append   bool // key+=value
	Clear    bool // key= (empty): drop the list
}

// overrides are by target name, then key ("tags", "args.FOO").
type overrides map[string]map[string]override

// keyAliases are the plural spellings --set accepts.
var keyAliases = map[string]string{
	"annotations": "annotation", "args": "arg", "entitlements": "entitlement", "extra-hosts": "extra-host",
	"labels": "label", "platforms": "platform", "tags": "tag", "ulimits": "ulimit",
}

// parseOverrides reads --set pattern.key[.sub][+]=value, pattern being a
// target name or a glob (*, prefix*), as buildx.
func (c *Config) parseOverrides(values []string) (overrides, error) {
	m := overrides{}
	for _, v := range values {
		lhs, value, hasValue := strings.Cut(v, "=")
		skey := strings.TrimSuffix(lhs, "+")
		appendTo := strings.HasSuffix(lhs, "+")
		keys := strings.SplitN(skey, ".", 3)
		if len(keys) < 2 {
			return nil, fmt.Errorf("invalid override key %s, expected target.name", skey)
		}
		if a, ok := keyAliases[keys[1]]; ok {
			keys[1] = a
		}
		if keys[1] == "secrets" {
			if len(keys) != 2 {
				return nil, fmt.Errorf("invalid key %s, secret does not support subkeys", lhs)
			}
			keys[1] = "secret"
		}
		if !hasValue && keys[1] != "arg" {
			return nil, fmt.Errorf("invalid override %s, expected target.name=value", v)
		}
		names, err := c.expandTargets(keys[0])
		if err != nil {
			return nil, err
		}
		okey := strings.Join(keys[1:], ".")
		for _, name := range names {
			t := m[name]
			if t == nil {
				t = map[string]override{}
				m[name] = t
			}
			o := t[okey]
			switch keys[1] {
			case "output", "cache-to", "cache-from", "tag", "platform", "ssh", "attest", "entitlement", "annotation", "ulimit", "no-cache-filter", "secret":
				if len(keys) != 2 {
					if keys[1] == "secret" && !appendTo {
						o.Value = value // secret.<id>=<source>
						break
					}
					return nil, fmt.Errorf("invalid key %s, %s does not support subkeys", lhs, keys[1])
				}
				if !appendTo && value == "" {
					o.Clear, o.ArrValue = true, nil
				} else {
					o.ArrValue = append(o.ArrValue, value)
				}
				o.Append = appendTo && !o.Clear
			case "arg":
				if len(keys) != 3 {
					return nil, fmt.Errorf("invalid key %s, arg requires name", lhs)
				}
				if !hasValue {
					env, ok := os.LookupEnv(keys[2])
					if !ok || !envLookup() {
						continue
					}
					value = env
				}
				o.Value = value
			case "contexts", "label", "extra-host":
				if len(keys) != 3 {
					return nil, fmt.Errorf("invalid key %s, %s requires name", lhs, keys[1])
				}
				o.Value = value
			case "context", "dockerfile", "target", "call", "no-cache", "shm-size", "network", "pull", "push", "load":
				if len(keys) != 2 {
					return nil, fmt.Errorf("invalid key %s, %s does not support subkeys", lhs, keys[1])
				}
				o.Value = value
			default:
				if msg, ok := unsupportedAttrs[strings.TrimSuffix(keys[1], "s")]; ok {
					return nil, fmt.Errorf("--set %s: %s", lhs, msg)
				}
				return nil, fmt.Errorf("unknown key: %s", keys[1])
			}
			t[okey] = o
		}
	}
	return m, nil
}

// expandTargets matches a --set pattern against target names.
func (c *Config) expandTargets(pattern string) ([]string, error) {
	if c.target(pattern) != nil {
		return []string{pattern}, nil
	}
	names, err := c.matchTargets(pattern)
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("could not find any target matching '%s'", pattern)
	}
	return names, nil
}

func (c *Config) matchTargets(pattern string) ([]string, error) {
	var names []string
	for _, t := range c.Targets {
		ok, err := path.Match(pattern, t.Name)
		if err != nil {
			return nil, fmt.Errorf("could not match targets with '%s': %w", pattern, err)
		}
		if ok {
			names = append(names, t.Name)
		}
	}
	return names, nil
}

func (t *Target) applyOverrides(m map[string]override) error {
	for key, o := range m {
		value := o.Value
		kind, sub, _ := strings.Cut(key, ".")
		var err error
		switch kind {
		case "context":
			t.Context = &value
		case "dockerfile":
			t.Dockerfile = &value
		case "arg":
			t.Args = setPtr(t.Args, sub, value)
		case "contexts":
			if t.Contexts == nil {
				t.Contexts = map[string]string{}
			}
			t.Contexts[sub] = value
		case "label":
			t.Labels = setPtr(t.Labels, sub, value)
		case "extra-host":
			t.ExtraHosts = setPtr(t.ExtraHosts, sub, value)
		case "tag":
			t.Tags = appendOrSet(t.Tags, o)
		case "platform":
			t.Platforms = appendOrSet(t.Platforms, o)
		case "no-cache-filter":
			t.NoCacheFilter = appendOrSet(t.NoCacheFilter, o)
		case "ulimit":
			t.Ulimits = appendOrSet(t.Ulimits, o)
		case "annotation":
			if o.Clear {
				t.Annotations = nil
			}
			t.Annotations = append(t.Annotations, o.ArrValue...)
		case "entitlement":
			if o.Clear {
				t.Entitlements = nil
			}
			t.Entitlements = append(t.Entitlements, o.ArrValue...)
		case "cache-from":
			t.CacheFrom, err = overrideList(t.CacheFrom, o)
		case "cache-to":
			t.CacheTo, err = overrideList(t.CacheTo, o)
		case "output":
			t.Outputs, err = overrideList(t.Outputs, o)
		case "ssh":
			t.SSH, err = overrideList(t.SSH, o)
		case "secret":
			if sub != "" {
				err = t.updateSecret(sub, value)
			} else {
				t.Secrets, err = overrideList(t.Secrets, o)
			}
		case "attest":
			var l Attests
			if l, err = ParseList[Attest](o.ArrValue); err == nil {
				if o.Clear {
					t.Attest = nil
				}
				t.Attest = mergeAttests(t.Attest, l)
			}
		case "target":
			t.Target = &value
		case "call":
			t.Call = &value
		case "shm-size":
			t.ShmSize = &value
		case "network":
			t.NetworkMode = &value
		case "no-cache", "pull", "push", "load":
			var b bool
			if b, err = strconv.ParseBool(value); err != nil {
				return fmt.Errorf("invalid value %s for boolean key %s", value, kind)
			}
			switch kind {
			case "no-cache":
				t.NoCache = &b
			case "pull":
				t.Pull = &b
			case "push":
				t.Outputs = setPush(t.Outputs, b)
			case "load":
				t.Outputs = setLoad(t.Outputs, b)
			}
		default:
			return fmt.Errorf("unknown key: %s", kind)
		}
		if err != nil {
			return fmt.Errorf("--set %s.%s: %w", t.Name, key, err)
		}
	}
	return nil
}

func setPtr(m map[string]*string, k, v string) map[string]*string {
	if m == nil {
		m = map[string]*string{}
	}
	m[k] = &v
	return m
}

func appendOrSet(s []string, o override) []string {
	if o.Append {
		return append(s, o.ArrValue...)
	}
	return o.ArrValue
}

func overrideList[T any, P interface {
	*T
	entry
}](l List[T, P], o override) (List[T, P], error) {
	parsed, err := ParseList[T, P](o.ArrValue)
	if err != nil {
		return nil, err
	}
	if o.Append {
		return l.merge(parsed), nil
	}
	return parsed, nil
}

// updateSecret changes the source of a declared secret (--set t.secret.id=src).
func (t *Target) updateSecret(id, value string) error {
	for _, s := range t.Secrets {
		if s.ID != id {
			continue
		}
		next := &Secret{}
		if err := next.parseCSV(value); err != nil {
			// A bare path is the source.
			next = &Secret{ID: id, Src: value}
		}
		if next.ID != "" && next.ID != id {
			return fmt.Errorf("secret override id %q does not match declared secret %q", next.ID, id)
		}
		s.Src, s.Env = next.Src, next.Env
		return nil
	}
	return fmt.Errorf("secret %q must be declared before it can be overridden", id)
}

// setPush is --push (or --set t.push=): image outputs push; without an
// output that pushes, one is added.
func setPush(outs Exports, push bool) Exports {
	if !push {
		var kept Exports
		for _, o := range outs {
			if o.Type == "registry" {
				continue
			}
			if o.Type == "image" {
				o.Attrs = withKeys(o.Attrs, "push", "false")
			}
			kept = append(kept, o)
		}
		return kept
	}
	add := true
	for _, o := range outs {
		if o.Type != "docker" {
			add = false
		}
		if o.Type == "image" {
			o.Attrs = withKeys(o.Attrs, "push", "true")
		}
	}
	if add {
		outs = append(outs, &Export{Type: "image", Attrs: map[string]string{"push": "true"}})
	}
	return outs
}

// setLoad is --load: a docker output is added unless one is there or an
// output of another kind (local, tar) is.
func setLoad(outs Exports, load bool) Exports {
	if !load {
		return outs
	}
	for _, o := range outs {
		switch o.Type {
		case "docker":
			if o.Dest == "" {
				return outs
			}
		case "image", "registry", "oci":
		default:
			return outs
		}
	}
	return append(outs, &Export{Type: "docker"})
}
