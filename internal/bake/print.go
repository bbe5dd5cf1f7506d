package bake

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/tonistiigi/go-csvvalue"
)

// Print writes the resolved definition as `buildx bake --print` does.
func (r *Resolved) Print(w io.Writer) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, string(data))
	return err
}

// ListRequest is --list's value: targets or variables, table or json.
type ListRequest struct {
	Type, Format string
}

// ParseListRequest reads "targets", "variables" or "type=T[,format=F]".
func ParseListRequest(s string) (ListRequest, error) {
	var l ListRequest
	fields, err := csvvalue.Fields(s, nil)
	if err != nil {
		return l, err
	}
	if len(fields) == 1 && fields[0] == s && !strings.HasPrefix(s, "type=") {
		l.Type = s
	} else {
		for _, f := range fields {
			k, v, ok := strings.Cut(f, "=")
			if !ok {
				return l, fmt.Errorf("invalid value %s", f)
			}
			switch strings.TrimSpace(strings.ToLower(k)) {
			case "type":
				l.Type = v
			case "format":
				l.Format = v
			default:
				return l, fmt.Errorf("unexpected key '%s' in '%s'", k, f)
			}
		}
	}
	if l.Format == "" {
		l.Format = "table"
	}
	if l.Type != "targets" && l.Type != "variables" {
		return l, fmt.Errorf("invalid list type %q", l.Type)
	}
	if l.Format != "table" && l.Format != "json" {
		return l, fmt.Errorf("invalid list format %q", l.Format)
	}
	return l, nil
}

// ListTargets writes the targets and groups, sorted, without the private
// ones (a leading _), as buildx: a group's description lists its targets.
func (c *Config) ListTargets(w io.Writer, format string) error {
	type item struct {
		Name        string `json:"name"`
		Description string `json:"description,omitempty"`
		Group       bool   `json:"group,omitempty"`
	}
	var items []item
	for _, t := range c.Targets {
		items = append(items, item{Name: t.Name, Description: t.Description})
	}
	for _, g := range c.Groups {
		d := g.Description
		if len(g.Targets) > 0 {
			names := slices.Sorted(slices.Values(g.Targets))
			if d != "" {
				d += " (" + strings.Join(names, ", ") + ")"
			} else {
				d = strings.Join(names, ", ")
			}
		}
		items = append(items, item{Name: g.Name, Description: d, Group: true})
	}
	slices.SortStableFunc(items, func(a, b item) int { return cmp.Compare(a.Name, b.Name) })
	items = slices.DeleteFunc(items, func(i item) bool { return strings.HasPrefix(i.Name, "_") })
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(items)
	}
	tw := tabwriter.NewWriter(w, 1, 8, 1, '\t', 0)
	fmt.Fprintln(tw, "TARGET\tDESCRIPTION")
	for _, i := range items {
		fmt.Fprintf(tw, "%s\t%s\n", i.Name, i.Description)
	}
	return tw.Flush()
}

// ListVariables writes the variables, sorted, with their values.
func ListVariables(w io.Writer, format string, vars []*Variable) error {
	vars = slices.Clone(vars)
	slices.SortFunc(vars, func(a, b *Variable) int { return cmp.Compare(a.Name, b.Name) })
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(vars)
	}
	tw := tabwriter.NewWriter(w, 1, 8, 1, '\t', 0)
	fmt.Fprintln(tw, "VARIABLE\tTYPE\tVALUE\tDESCRIPTION")
	for _, v := range vars {
		value := "<null>"
		if v.Value != nil {
			value = *v.Value
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", v.Name, v.Type, value, v.Description)
	}
	return tw.Flush()
}
