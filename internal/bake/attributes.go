package bake

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// unsupportedAttrs are target attributes buildx v0.38.2 knows and kiln does
// not implement yet, by their singular --set spelling: refused, never
// ignored.
var unsupportedAttrs = map[string]string{
	"policy":   "build policies (policy) are not supported yet by kiln",
	"resource": "per-build resource limits (resources) are not supported yet by kiln",
}

// targetAttrs are the attributes a target block may set: its fields, and
// matrix and name, which the parser reads before decoding.
var targetAttrs = func() []string {
	names := []string{"matrix", "name"}
	rt := reflect.TypeFor[Target]()
	for i := range rt.NumField() {
		tag, _, _ := strings.Cut(rt.Field(i).Tag.Get("hcl"), ",")
		if tag != "" && tag != "name" {
			names = append(names, tag)
		}
	}
	slices.Sort(names)
	return names
}()

// checkTargetAttrs refuses a target attribute kiln does not know. buildx
// drops such an attribute without a word (a misspelt `platfroms` builds for
// the host); kiln names the file and line instead.
func checkTargetAttrs(f *hcl.File) error {
	schema := &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "target", LabelNames: []string{"name"}}}}
	content, _, _ := f.Body.PartialContent(schema)
	if content == nil {
		return nil
	}
	for _, b := range content.Blocks {
		attrs, diags := b.Body.JustAttributes()
		if diags.HasErrors() {
			continue // blocks inside a target: the parser reports them
		}
		byLine := slices.SortedFunc(maps.Values(attrs), func(a, b *hcl.Attribute) int {
			return a.NameRange.Start.Byte - b.NameRange.Start.Byte
		})
		for _, a := range byLine {
			name, pos := a.Name, a.NameRange
			if msg, ok := unsupportedAttrs[strings.TrimSuffix(name, "s")]; ok {
				return &FileError{File: pos.Filename, Line: pos.Start.Line, Msg: fmt.Sprintf("target %q: %s", b.Labels[0], msg)}
			}
			if _, found := slices.BinarySearch(targetAttrs, name); !found {
				return &FileError{File: pos.Filename, Line: pos.Start.Line,
					Msg: fmt.Sprintf("target %q: unknown attribute %q (known: %s)", b.Labels[0], name, strings.Join(targetAttrs, ", "))}
			}
		}
	}
	return nil
}
