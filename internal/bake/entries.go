package bake

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/tonistiigi/go-csvvalue"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// entry is one value of a list attribute that buildx reads either as a CSV
// string ("type=registry,ref=app:cache") or as an object: outputs, caches,
// secrets, ssh agents, attestations.
type entry interface {
	parseCSV(s string) error
	fromMap(m map[string]string) error
	toMap() map[string]string
	String() string // the CSV form, as kiln's build flags take it
}

// List is a list attribute of entries. As HCL it takes strings and objects;
// as JSON it prints buildx's shape.
type List[T any, P interface {
	*T
	entry
}] []P

// Export is an output (-o).
type Export struct {
	Type  string
	Dest  string
	Attrs map[string]string
}

// Cache is a cache-from or cache-to entry.
type Cache struct {
	Type  string
	Attrs map[string]string
}

// Secret is a secret source.
type Secret struct {
	ID, Src, Env string
}

// SSH is an ssh agent or key set.
type SSH struct {
	ID    string
	Paths []string
}

// Attest is an attestation request.
type Attest struct {
	Type     string
	Disabled bool
	Attrs    map[string]string
}

type (
	Exports = List[Export, *Export]
	Caches  = List[Cache, *Cache]
	Secrets = List[Secret, *Secret]
	SSHKeys = List[SSH, *SSH]
	Attests = List[Attest, *Attest]
)

// ParseList reads CSV values into a list.
func ParseList[T any, P interface {
	*T
	entry
}](values []string) (List[T, P], error) {
	var l List[T, P]
	for _, v := range values {
		e := P(new(T))
		if err := e.parseCSV(v); err != nil {
			return nil, err
		}
		l = append(l, e)
	}
	return l, nil
}

// Strings is the list in CSV form.
func (l List[T, P]) Strings() []string {
	out := make([]string, len(l))
	for i, e := range l {
		out[i] = e.String()
	}
	return out
}

// merge appends other's entries, dropping duplicates.
func (l List[T, P]) merge(other List[T, P]) List[T, P] {
	return append(slices.Clone(l), other...).normalize()
}

func (l List[T, P]) normalize() List[T, P] {
	if len(l) == 0 {
		return nil
	}
	seen := map[string]bool{}
	var out List[T, P]
	for _, e := range l {
		if k := e.String(); !seen[k] {
			seen[k] = true
			out = append(out, e)
		}
	}
	return out
}

// FromCtyValue reads HCL's value: a list of strings and objects.
func (l *List[T, P]) FromCtyValue(in cty.Value, path cty.Path) error {
	if in.IsNull() {
		*l = nil
		return nil
	}
	t := in.Type()
	if !t.IsListType() && !t.IsTupleType() && !t.IsSetType() {
		return path.NewErrorf("%s", convert.MismatchMessage(t, cty.List(cty.Map(cty.String))))
	}
	*l = List[T, P]{}
	for it := in.ElementIterator(); it.Next(); {
		_, v := it.Element()
		e := P(new(T))
		if v.Type() == cty.String {
			if err := e.parseCSV(v.AsString()); err != nil {
				return path.NewError(err)
			}
		} else {
			m, err := stringMap(v)
			if err != nil {
				return path.NewError(err)
			}
			if err := e.fromMap(m); err != nil {
				return path.NewError(err)
			}
		}
		*l = append(*l, e)
	}
	return nil
}

// ToCtyValue makes the list referable from other targets (target.x.output).
func (l List[T, P]) ToCtyValue() cty.Value {
	if len(l) == 0 {
		return cty.ListValEmpty(cty.Map(cty.String))
	}
	vals := make([]cty.Value, len(l))
	for i, e := range l {
		m := map[string]cty.Value{}
		for k, v := range e.toMap() {
			m[k] = cty.StringVal(v)
		}
		vals[i] = cty.MapVal(m)
	}
	return cty.ListVal(vals)
}

// stringMap converts an object to strings; a list value (ssh paths) is
// joined with commas.
func stringMap(v cty.Value) (map[string]string, error) {
	if !v.Type().IsObjectType() && !v.Type().IsMapType() {
		return nil, fmt.Errorf("want a string or an object, got %s", v.Type().FriendlyName())
	}
	out := map[string]string{}
	for k, e := range v.AsValueMap() {
		if e.IsNull() {
			continue
		}
		if e.CanIterateElements() {
			var parts []string
			for it := e.ElementIterator(); it.Next(); {
				_, x := it.Element()
				s, err := convert.Convert(x, cty.String)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", k, err)
				}
				parts = append(parts, s.AsString())
			}
			out[k] = strings.Join(parts, ",")
			continue
		}
		s, err := convert.Convert(e, cty.String)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		out[k] = s.AsString()
	}
	return out, nil
}

// csvPairs reads key=value fields.
func csvPairs(s string) (map[string]string, error) {
	fields, err := csvvalue.Fields(s, nil)
	if err != nil {
		return nil, fmt.Errorf("invalid value %q: %w", s, err)
	}
	m := map[string]string{}
	for _, f := range fields {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return nil, fmt.Errorf("invalid value %q: field %q is not key=value", s, f)
		}
		m[strings.ToLower(strings.TrimSpace(k))] = v
	}
	return m, nil
}

// writeCSV writes fields in order, then the attributes sorted.
func writeCSV(first [][2]string, attrs map[string]string) string {
	var fields []string
	add := func(k, v string) {
		f := k + "=" + v
		if strings.ContainsAny(f, ",\"\n") {
			f = `"` + strings.ReplaceAll(f, `"`, `""`) + `"`
		}
		fields = append(fields, f)
	}
	for _, kv := range first {
		if kv[1] != "" {
			add(kv[0], kv[1])
		}
	}
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		add(k, attrs[k])
	}
	return strings.Join(fields, ",")
}

func without(m map[string]string, keys ...string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		if !slices.Contains(keys, k) {
			out[k] = v
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func withKeys(attrs map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range attrs {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			out[kv[i]] = kv[i+1]
		}
	}
	return out
}

// Export: a bare value is a local directory ("-" a tar on stdout), as buildx.
func (e *Export) parseCSV(s string) error {
	if !strings.Contains(s, "=") {
		if s == "-" {
			*e = Export{Type: "tar", Dest: "-"}
		} else {
			*e = Export{Type: "local", Dest: s}
		}
		return nil
	}
	m, err := csvPairs(s)
	if err != nil {
		return err
	}
	return e.fromMap(m)
}

func (e *Export) fromMap(m map[string]string) error {
	*e = Export{Type: m["type"], Dest: m["dest"], Attrs: without(m, "type", "dest")}
	if e.Type == "" {
		return fmt.Errorf("output %q has no type", writeCSV(nil, m))
	}
	return nil
}

func (e *Export) toMap() map[string]string {
	return withKeys(e.Attrs, "type", e.Type, "dest", e.Dest)
}

func (e *Export) String() string {
	return writeCSV([][2]string{{"type", e.Type}, {"dest", e.Dest}}, e.Attrs)
}

func (e *Export) MarshalJSON() ([]byte, error) { return json.Marshal(e.toMap()) }

// Cache: a bare value is a registry reference, as buildx.
func (c *Cache) parseCSV(s string) error {
	if !strings.Contains(s, "=") {
		*c = Cache{Type: "registry", Attrs: map[string]string{"ref": s}}
		return nil
	}
	m, err := csvPairs(s)
	if err != nil {
		return err
	}
	return c.fromMap(m)
}

func (c *Cache) fromMap(m map[string]string) error {
	*c = Cache{Type: m["type"], Attrs: without(m, "type")}
	if c.Type == "" {
		return fmt.Errorf("cache %q has no type", writeCSV(nil, m))
	}
	return nil
}

func (c *Cache) toMap() map[string]string { return withKeys(c.Attrs, "type", c.Type) }

func (c *Cache) String() string {
	return writeCSV([][2]string{{"type", c.Type}}, c.Attrs)
}

func (c *Cache) MarshalJSON() ([]byte, error) { return json.Marshal(c.toMap()) }

func (s *Secret) parseCSV(v string) error {
	m, err := csvPairs(v)
	if err != nil {
		return err
	}
	return s.fromMap(m)
}

func (s *Secret) fromMap(m map[string]string) error {
	*s = Secret{ID: m["id"], Src: m["src"], Env: m["env"]}
	if v, ok := m["source"]; ok && s.Src == "" {
		s.Src = v
	}
	if m["type"] == "env" && s.Env == "" {
		s.Env, s.Src = s.Src, ""
	}
	for k := range without(m, "id", "src", "source", "env", "type") {
		return fmt.Errorf("unexpected secret key %q", k)
	}
	if s.ID == "" {
		return fmt.Errorf("secret %q has no id", writeCSV(nil, m))
	}
	return nil
}

func (s *Secret) toMap() map[string]string {
	return withKeys(nil, "id", s.ID, "src", s.Src, "env", s.Env)
}

func (s *Secret) String() string {
	return writeCSV([][2]string{{"id", s.ID}, {"src", s.Src}, {"env", s.Env}}, nil)
}

func (s *Secret) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		ID  string `json:"id,omitempty"`
		Src string `json:"src,omitempty"`
		Env string `json:"env,omitempty"`
	}{s.ID, s.Src, s.Env})
}

// SSH: "default", "id=path[,path]".
func (s *SSH) parseCSV(v string) error {
	id, paths, ok := strings.Cut(v, "=")
	*s = SSH{ID: id}
	if ok && paths != "" {
		s.Paths = strings.Split(paths, ",")
	}
	if s.ID == "" {
		return fmt.Errorf("invalid ssh %q: no id", v)
	}
	return nil
}

func (s *SSH) fromMap(m map[string]string) error {
	*s = SSH{ID: m["id"]}
	if p := m["paths"]; p != "" {
		s.Paths = strings.Split(p, ",")
	}
	if s.ID == "" {
		return fmt.Errorf("ssh entry has no id")
	}
	return nil
}

func (s *SSH) toMap() map[string]string {
	return withKeys(nil, "id", s.ID, "paths", strings.Join(s.Paths, ","))
}

func (s *SSH) String() string {
	if len(s.Paths) == 0 {
		return s.ID
	}
	return s.ID + "=" + strings.Join(s.Paths, ",")
}

func (s *SSH) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		ID    string   `json:"id,omitempty"`
		Paths []string `json:"paths,omitempty"`
	}{s.ID, s.Paths})
}

func (a *Attest) parseCSV(v string) error {
	m, err := csvPairs(v)
	if err != nil {
		return err
	}
	return a.fromMap(m)
}

func (a *Attest) fromMap(m map[string]string) error {
	*a = Attest{Type: m["type"], Attrs: without(m, "type", "disabled")}
	switch m["disabled"] {
	case "", "false":
	case "true":
		a.Disabled = true
	default:
		return fmt.Errorf("invalid attest disabled=%s", m["disabled"])
	}
	if a.Type == "" {
		return fmt.Errorf("attest %q has no type", writeCSV(nil, m))
	}
	return nil
}

func (a *Attest) toMap() map[string]string {
	m := withKeys(a.Attrs, "type", a.Type)
	if a.Disabled {
		m["disabled"] = "true"
	}
	return m
}

func (a *Attest) String() string {
	first := [][2]string{{"type", a.Type}}
	if a.Disabled {
		first = append(first, [2]string{"disabled", "true"})
	}
	return writeCSV(first, a.Attrs)
}

func (a *Attest) MarshalJSON() ([]byte, error) {
	m := map[string]any{"type": a.Type}
	for k, v := range a.Attrs {
		m[k] = v
	}
	if a.Disabled {
		m["disabled"] = true
	}
	return json.Marshal(m)
}
