package bake

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/docker/buildx/bake/hclparser"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
)

// File is one definition file's name and content.
type File struct {
	Name string
	Data []byte
}

// Variable is a variable as --list variables shows it.
type Variable = hclparser.Variable

var targetName = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)

func validateTargetName(name string) error {
	if !targetName.MatchString(name) {
		return fmt.Errorf("only %q are allowed", `[a-zA-Z0-9_-]+`)
	}
	return nil
}

// envLookup says whether variables may come from the environment
// (BUILDX_BAKE_DISABLE_VARS_ENV_LOOKUP turns it off, as in buildx).
var envLookup = sync.OnceValue(func() bool {
	if v, ok := os.LookupEnv("BUILDX_BAKE_DISABLE_VARS_ENV_LOOKUP"); ok {
		if off, err := strconv.ParseBool(v); err == nil && off {
			return false
		}
	}
	return true
})

// Parse reads the files into one Config. defaults are built-in variables
// (BAKE_CMD_CONTEXT, BAKE_LOCAL_PLATFORM); vars are --var values, which
// win over the environment, which wins over a variable's default.
func Parse(files []File, defaults, vars map[string]string) (*Config, []*Variable, error) {
	var c Config
	var composeFiles []File
	var hclFiles []*hcl.File
	var candidates []File
	for _, f := range files {
		if mayBeCompose(f.Name) {
			candidates = append(candidates, f)
		}
	}
	var cr *composeReply
	if len(candidates) > 0 {
		var err error
		if cr, err = readCompose(candidates, vars); err != nil {
			return nil, nil, err
		}
	}
	for _, f := range files {
		var isCompose bool
		var composeErr error
		if mayBeCompose(f.Name) {
			cls := cr.Files[0]
			cr.Files = cr.Files[1:]
			isCompose = cls.IsCompose
			if cls.Err != "" {
				composeErr = errors.New(cls.Err)
			}
		}
		if isCompose {
			if composeErr != nil {
				return nil, nil, fmt.Errorf("%s: %w", f.Name, composeErr)
			}
			composeFiles = append(composeFiles, f)
			continue
		}
		hf, err := parseHCL(f)
		if err != nil {
			if composeErr != nil {
				return nil, nil, fmt.Errorf("%s: neither a compose file (%v) nor HCL: %w", f.Name, composeErr, err)
			}
			return nil, nil, err
		}
		if err := checkTargetAttrs(hf); err != nil {
			return nil, nil, err
		}
		hclFiles = append(hclFiles, hf)
	}
	if len(composeFiles) > 0 {
		if cr.Err != "" {
			return nil, nil, errors.New(cr.Err)
		}
		c = mergeConfig(c, *cr.config())
		c = dedupConfig(c)
	}
	var variables []*Variable
	if len(hclFiles) > 0 {
		body := hclparser.MergeFiles(hclFiles)
		lookup := func(k string) (string, bool) {
			if v, ok := vars[k]; ok {
				return v, true
			}
			if envLookup() {
				return os.LookupEnv(k)
			}
			return "", false
		}
		meta, diags := hclparser.Parse(body, hclparser.Opt{LookupVar: lookup, Vars: defaults, ValidateLabel: validateTargetName}, &c)
		if diags.HasErrors() {
			return nil, nil, diagError(diags)
		}
		for _, kind := range []string{"group", "target"} {
			for old, names := range meta.Renamed[kind] {
				names = dedup(names)
				if len(names) == 1 && names[0] == old {
					continue
				}
				c.Groups = append(c.Groups, &Group{Name: old, Targets: names})
			}
		}
		c = dedupConfig(c)
		variables = meta.AllVariables
	}
	return &c, variables, nil
}

// parseHCL reads HCL or (by its .json name) HCL's JSON form; a file named
// otherwise is tried as HCL, then as JSON, as buildx does.
func parseHCL(f File) (*hcl.File, error) {
	p := hclparse.NewParser()
	switch {
	case strings.HasSuffix(f.Name, ".json"):
		hf, diags := p.ParseJSON(f.Data, f.Name)
		return hf, diagErrorOrNil(diags)
	case strings.HasSuffix(f.Name, ".hcl"):
		hf, diags := p.ParseHCL(f.Data, f.Name)
		return hf, diagErrorOrNil(diags)
	}
	hf, diags := p.ParseHCL(f.Data, f.Name)
	if !diags.HasErrors() {
		return hf, nil
	}
	if hj, d2 := hclparse.NewParser().ParseJSON(f.Data, f.Name); !d2.HasErrors() {
		return hj, nil
	}
	return nil, diagError(diags)
}

func mergeConfig(c1, c2 Config) Config {
	for _, g2 := range c2.Groups {
		if g1 := c1.group(g2.Name); g1 != nil {
			g1.Merge(g2)
			continue
		}
		c1.Groups = append(c1.Groups, g2)
	}
	for _, t2 := range c2.Targets {
		if t1 := c1.target(t2.Name); t1 != nil {
			t1.Merge(t2)
			continue
		}
		c1.Targets = append(c1.Targets, t2)
	}
	return c1
}

// dedupConfig merges targets defined twice and drops repeated names.
func dedupConfig(c Config) Config {
	out := Config{}
	for _, g := range c.Groups {
		g1 := *g
		g1.Targets = dedup(g1.Targets)
		if prev := out.group(g.Name); prev != nil {
			prev.Merge(&g1)
			continue
		}
		out.Groups = append(out.Groups, &g1)
	}
	for _, t := range c.Targets {
		if prev := out.target(t.Name); prev != nil {
			prev.Merge(t)
			continue
		}
		out.Targets = append(out.Targets, t)
	}
	return out
}

func (c *Config) group(name string) *Group {
	for _, g := range c.Groups {
		if g.Name == name {
			return g
		}
	}
	return nil
}

func (c *Config) target(name string) *Target {
	for _, t := range c.Targets {
		if t.Name == name {
			return t
		}
	}
	return nil
}
