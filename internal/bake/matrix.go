package bake

import (
	"errors"
	"maps"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// Hooks hclparser calls on each block: a target's matrix makes one
// evaluation context per combination, and its name attribute names each.

// GetEvalContexts expands matrix: the cartesian product of its lists.
func (t *Target) GetEvalContexts(ectx *hcl.EvalContext, block *hcl.Block, loadDeps func(hcl.Expression) hcl.Diagnostics) ([]*hcl.EvalContext, error) {
	content, _, diags := block.Body.PartialContent(&hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "matrix"}}})
	if diags.HasErrors() {
		return nil, diags
	}
	attr, ok := content.Attributes["matrix"]
	if !ok {
		return []*hcl.EvalContext{ectx}, nil
	}
	if diags := loadDeps(attr.Expr); diags.HasErrors() {
		return nil, diags
	}
	value, diags := attr.Expr.Value(ectx)
	if diags.HasErrors() {
		return nil, diags
	}
	if !value.Type().IsMapType() && !value.Type().IsObjectType() {
		return nil, errors.New("matrix must be a map")
	}
	ectxs := []*hcl.EvalContext{ectx}
	for k, list := range value.AsValueMap() {
		if !list.CanIterateElements() {
			return nil, errors.New("matrix values must be a list")
		}
		var next []*hcl.EvalContext
		for _, v := range list.AsValueSlice() {
			for _, e := range ectxs {
				e2 := ectx.NewChild()
				e2.Variables = map[string]cty.Value{}
				if e != ectx {
					maps.Copy(e2.Variables, e.Variables)
				}
				e2.Variables[k] = v
				next = append(next, e2)
			}
		}
		ectxs = next
	}
	return ectxs, nil
}

// GetName evaluates name (which needs matrix) in one combination's context.
func (t *Target) GetName(ectx *hcl.EvalContext, block *hcl.Block, loadDeps func(hcl.Expression) hcl.Diagnostics) (string, error) {
	content, _, diags := block.Body.PartialContent(&hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "name"}, {Name: "matrix"}}})
	if diags.HasErrors() {
		return "", diags
	}
	attr, ok := content.Attributes["name"]
	if !ok {
		return block.Labels[0], nil
	}
	if _, ok := content.Attributes["matrix"]; !ok {
		return "", errors.New("name requires matrix")
	}
	if diags := loadDeps(attr.Expr); diags.HasErrors() {
		return "", diags
	}
	value, diags := attr.Expr.Value(ectx)
	if diags.HasErrors() {
		return "", diags
	}
	value, err := convert.Convert(value, cty.String)
	if err != nil {
		return "", err
	}
	return value.AsString(), nil
}

// GetEvalContexts refuses matrix on a group, as buildx.
func (g *Group) GetEvalContexts(ectx *hcl.EvalContext, block *hcl.Block, _ func(hcl.Expression) hcl.Diagnostics) ([]*hcl.EvalContext, error) {
	if err := groupAttrs(block); err != nil {
		return nil, err
	}
	return []*hcl.EvalContext{ectx}, nil
}

// GetName is the group's label: groups take neither name nor matrix.
func (g *Group) GetName(_ *hcl.EvalContext, block *hcl.Block, _ func(hcl.Expression) hcl.Diagnostics) (string, error) {
	if err := groupAttrs(block); err != nil {
		return "", err
	}
	return block.Labels[0], nil
}

func groupAttrs(block *hcl.Block) error {
	content, _, diags := block.Body.PartialContent(&hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "name"}, {Name: "matrix"}}})
	if diags.HasErrors() {
		return diags
	}
	for _, a := range []string{"name", "matrix"} {
		if _, ok := content.Attributes[a]; ok {
			return errors.New(a + " is not supported for groups")
		}
	}
	return nil
}
