package exporter

import (
	"fmt"
	"strings"

	"github.com/containerd/platforms"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Annotation is one buildx --annotation: [type[,type…][platform]:]key=value,
// where type is manifest (the default), manifest-descriptor or index.
type Annotation struct {
	Types    []string
	Platform *ocispec.Platform // only for this platform's manifest
	Key      string
	Value    string
}

// ParseAnnotation reads buildx's --annotation syntax.
func ParseAnnotation(s string) (Annotation, error) {
	a := Annotation{Types: []string{"manifest"}}
	kv := s
	// A prefix ends at the first ':' before the '='; keys may hold ':' too
	// (org.opencontainers.image.source), values any.
	if eq := strings.Index(s, "="); eq > 0 {
		if colon := strings.Index(s[:eq], ":"); colon >= 0 && isAnnotationPrefix(s[:colon]) {
			if err := a.parsePrefix(s[:colon]); err != nil {
				return a, fmt.Errorf("invalid --annotation %q: %w", s, err)
			}
			kv = s[colon+1:]
		}
	}
	k, v, ok := strings.Cut(kv, "=")
	if !ok || k == "" {
		return a, fmt.Errorf("invalid --annotation %q: want [type[,type][platform]:]key=value", s)
	}
	a.Key, a.Value = k, v
	return a, nil
}

func isAnnotationPrefix(p string) bool {
	types, _, _ := strings.Cut(p, "[")
	for _, t := range strings.Split(types, ",") {
		switch t {
		case "", "manifest", "manifest-descriptor", "index", "index-descriptor":
		default:
			return false
		}
	}
	return true
}

func (a *Annotation) parsePrefix(p string) error {
	types, plat, hasPlat := strings.Cut(p, "[")
	if types != "" {
		a.Types = strings.Split(types, ",")
	}
	for _, t := range a.Types {
		if t == "index-descriptor" {
			return fmt.Errorf("index-descriptor annotations are not supported yet")
		}
	}
	if hasPlat {
		pl, err := platforms.Parse(strings.TrimSuffix(plat, "]"))
		if err != nil {
			return err
		}
		pl = platforms.Normalize(pl)
		a.Platform = &pl
	}
	return nil
}

// AnnotationsFor collects the annotations of one type (for platform p,
// when the type is per manifest).
func AnnotationsFor(all []Annotation, typ string, p *ocispec.Platform) map[string]string {
	var out map[string]string
	for _, a := range all {
		if !hasType(a.Types, typ) || (a.Platform != nil && p != nil && !platforms.Only(*a.Platform).Match(*p)) {
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[a.Key] = a.Value
	}
	return out
}

func hasType(types []string, t string) bool {
	for _, x := range types {
		if x == t {
			return true
		}
	}
	return false
}

// outputAnnotation reads an exporter attribute in buildx's form
// annotation[-type][[platform]].key=value; ok is false for other attributes.
func outputAnnotation(attr, value string) (Annotation, bool, error) {
	rest, ok := strings.CutPrefix(attr, "annotation")
	if !ok {
		return Annotation{}, false, nil
	}
	prefix, key, ok := strings.Cut(rest, ".")
	if !ok || key == "" {
		return Annotation{}, true, fmt.Errorf("invalid output attribute %q: want annotation[-type][[platform]].key=value", attr)
	}
	typ, plat, hasPlat := strings.Cut(strings.TrimPrefix(prefix, "-"), "[")
	spec := typ
	if hasPlat {
		spec += "[" + plat
	}
	if !isAnnotationPrefix(spec) {
		return Annotation{}, true, fmt.Errorf("invalid output attribute %q: unknown annotation type %q", attr, typ)
	}
	a, err := ParseAnnotation(spec + ":" + key + "=" + value)
	return a, true, err
}
