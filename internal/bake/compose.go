package bake

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/compose-spec/compose-go/v2/dotenv"
	composetypes "github.com/compose-spec/compose-go/v2/types"
	"github.com/docker/go-units"
)

// mayBeCompose says whether a file of this name can be a compose file: a
// .json or .hcl one cannot.
func mayBeCompose(name string) bool {
	name = strings.ToLower(name)
	return !strings.HasSuffix(name, ".json") && !strings.HasSuffix(name, ".hcl")
}

func yamlName(name string) bool {
	name = strings.ToLower(name)
	return strings.HasSuffix(name, ".yml") || strings.HasSuffix(name, ".yaml")
}

// composeFile says whether f is a compose file: by its .yml/.yaml name, or,
// named otherwise, by loading as one (buildx's rule).
func composeFile(f File, vars map[string]string) (bool, error) {
	isYAML := yamlName(f.Name)
	if !mayBeCompose(f.Name) {
		return false, nil
	}
	env, err := composeEnv(vars)
	if err != nil {
		return false, err
	}
	_, err = loadCompose([]File{f}, env, true)
	if isYAML {
		return true, err
	}
	return err == nil, err
}

// parseCompose makes a target of every service with a build section, and a
// default group of them all.
func parseCompose(files []File, vars map[string]string) (*Config, error) {
	env, err := composeEnv(vars)
	if err != nil {
		return nil, err
	}
	p, err := loadCompose(files, env, false)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", files[0].Name, err)
	}
	c := &Config{}
	g := &Group{Name: "default"}
	for _, key := range slices.Sorted(maps.Keys(p.Services)) { // one order, run to run
		s := p.Services[key]
		if s.Build == nil {
			continue
		}
		name := strings.ReplaceAll(s.Name, ".", "_")
		if err := validateTargetName(name); err != nil {
			return nil, fmt.Errorf("invalid service name %q: %w", name, err)
		}
		t, err := composeTarget(p, s)
		if err != nil {
			return nil, fmt.Errorf("service %s: %w", s.Name, err)
		}
		t.Name = name
		g.Targets = append(g.Targets, name)
		c.Targets = append(c.Targets, t)
	}
	slices.Sort(g.Targets)
	if len(c.Targets) > 0 {
		c.Groups = []*Group{g}
	}
	return c, nil
}

func composeTarget(p *composetypes.Project, s composetypes.ServiceConfig) (*Target, error) {
	b := s.Build
	t := &Target{
		Context: nonEmpty(b.Context), Dockerfile: nonEmpty(b.Dockerfile), DockerfileInline: nonEmpty(b.DockerfileInline),
		Target: nonEmpty(b.Target), NetworkMode: nonEmpty(b.Network), Tags: b.Tags, Platforms: b.Platforms,
		NoCacheFilter: b.NoCacheFilter, Entitlements: b.Entitlements,
	}
	if len(b.AdditionalContexts) > 0 {
		t.Contexts = composeContexts(b.AdditionalContexts)
	}
	if b.ShmSize > 0 {
		s := units.BytesSize(float64(b.ShmSize)) // docker's MemBytes form
		t.ShmSize = &s
	}
	for n, u := range b.Ulimits {
		soft, hard := u.Soft, u.Hard
		if u.Single != 0 {
			soft, hard = u.Single, u.Single
		}
		ul, err := units.ParseUlimit(fmt.Sprintf("%s=%d:%d", n, soft, hard))
		if err != nil {
			return nil, err
		}
		t.Ulimits = append(t.Ulimits, ul.String())
	}
	slices.Sort(t.Ulimits)
	for k, v := range b.ExtraHosts {
		if t.ExtraHosts == nil {
			t.ExtraHosts = map[string]*string{}
		}
		s := strings.Join(v, ",")
		t.ExtraHosts[k] = &s
	}
	for _, k := range b.SSH {
		e := &SSH{ID: k.ID}
		if k.Path != "" {
			e.Paths = []string{k.Path}
		}
		t.SSH = append(t.SSH, e)
	}
	for _, bs := range b.Secrets {
		ps := p.Secrets[bs.Source]
		if ps.External {
			return nil, fmt.Errorf("unsupported external secret %s", ps.Name)
		}
		t.Secrets = append(t.Secrets, &Secret{ID: bs.Source, Src: ps.File, Env: ps.Environment})
	}
	if len(b.Labels) > 0 {
		t.Labels = map[string]*string{}
		for k, v := range b.Labels {
			t.Labels[k] = &v
		}
	}
	args := b.Args.Resolve(func(k string) (string, bool) {
		if v, ok := s.Environment[k]; ok && v != nil {
			return *v, true
		}
		v, ok := p.Environment[k]
		return v, ok
	})
	for k, v := range args {
		if v == nil {
			continue
		}
		if t.Args == nil {
			t.Args = map[string]*string{}
		}
		t.Args[k] = v
	}
	var err error
	if t.CacheFrom, err = ParseList[Cache](b.CacheFrom); err != nil {
		return nil, err
	}
	if t.CacheTo, err = ParseList[Cache](b.CacheTo); err != nil {
		return nil, err
	}
	var attests []string
	if b.SBOM != "" {
		attests = append(attests, canonicalAttest("sbom", b.SBOM))
	}
	if b.Provenance != "" {
		attests = append(attests, canonicalAttest("provenance", b.Provenance))
	}
	if t.Attest, err = ParseList[Attest](attests); err != nil {
		return nil, err
	}
	if b.NoCache {
		t.NoCache = &b.NoCache
	}
	if b.Pull {
		t.Pull = &b.Pull
	}
	if err := t.composeExtension(b.Extensions["x-bake"]); err != nil {
		return nil, fmt.Errorf("x-bake: %w", err)
	}
	if len(t.Tags) == 0 && s.Image != "" {
		t.Tags = []string{s.Image}
	}
	return t, nil
}

// canonicalAttest turns --sbom/--provenance values (true, false, or
// attributes) into an attest entry, as buildx does.
func canonicalAttest(kind, v string) string {
	switch v {
	case "", "true", "1":
		return "type=" + kind
	case "false", "0":
		return "type=" + kind + ",disabled=true"
	}
	if strings.HasPrefix(v, "type=") {
		return v
	}
	return "type=" + kind + "," + v
}

// words is a list the x-bake extension gives as a list or one
// whitespace-separated string.
type words []string

func (w *words) UnmarshalJSON(b []byte) error {
	var list []string
	if err := json.Unmarshal(b, &list); err == nil {
		*w = list
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*w = strings.Fields(s)
	return nil
}

// composeExtension applies x-bake: bake fields compose lacks.
func (t *Target) composeExtension(ext any) error {
	if ext == nil {
		return nil
	}
	var x struct {
		Tags          words             `json:"tags"`
		CacheFrom     words             `json:"cache-from"`
		CacheTo       words             `json:"cache-to"`
		Secrets       words             `json:"secret"`
		SSH           words             `json:"ssh"`
		Platforms     words             `json:"platforms"`
		Outputs       words             `json:"output"`
		Pull          *bool             `json:"pull"`
		NoCache       *bool             `json:"no-cache"`
		NoCacheFilter words             `json:"no-cache-filter"`
		Contexts      map[string]string `json:"contexts"`
	}
	data, err := json.Marshal(ext)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, &x); err != nil {
		return err
	}
	t.Tags = dedup(append(t.Tags, x.Tags...))
	cf, err := ParseList[Cache](x.CacheFrom)
	if err != nil {
		return err
	}
	ct, err := ParseList[Cache](x.CacheTo)
	if err != nil {
		return err
	}
	sec, err := ParseList[Secret](x.Secrets)
	if err != nil {
		return err
	}
	ssh, err := ParseList[SSH](x.SSH)
	if err != nil {
		return err
	}
	out, err := ParseList[Export](x.Outputs)
	if err != nil {
		return err
	}
	t.CacheFrom, t.CacheTo = t.CacheFrom.merge(cf), t.CacheTo.merge(ct)
	t.Secrets, t.SSH, t.Outputs = t.Secrets.merge(sec), t.SSH.merge(ssh), t.Outputs.merge(out)
	t.Platforms = dedup(append(t.Platforms, x.Platforms...))
	t.NoCacheFilter = dedup(append(t.NoCacheFilter, x.NoCacheFilter...))
	if x.Pull != nil {
		t.Pull = x.Pull
	}
	if x.NoCache != nil {
		t.NoCache = x.NoCache
	}
	for k, v := range composeContexts(x.Contexts) {
		if t.Contexts == nil {
			t.Contexts = map[string]string{}
		}
		if _, ok := t.Contexts[k]; !ok {
			t.Contexts[k] = v
		}
	}
	return nil
}

// composeContexts maps service:NAME (and target:NAME) to bake's target:.
func composeContexts(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		for _, p := range []string{"service:", "target:"} {
			if name, ok := strings.CutPrefix(v, p); ok {
				v = "target:" + strings.ReplaceAll(name, ".", "_")
			}
		}
		out[k] = v
	}
	return out
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// loadCompose loads files through ComposeLoader (kiln-compose's process).
func loadCompose(files []File, env map[string]string, skipConsistency bool) (*composetypes.Project, error) {
	var cfgs []composetypes.ConfigFile
	for _, f := range files {
		cfgs = append(cfgs, composetypes.ConfigFile{Filename: f.Name, Content: f.Data})
	}
	if ComposeLoader == nil {
		return nil, errors.New("bake: compose files are read by kiln-compose (ComposeLoader is unset)")
	}
	return ComposeLoader(cfgs, env, skipConsistency)
}

// composeEnv is the environment compose files interpolate: the process's,
// then .env of the working directory for what it lacks, then --var.
func composeEnv(vars map[string]string) (map[string]string, error) {
	env := map[string]string{}
	if envLookup() {
		for _, kv := range os.Environ() {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
	}
	if wd, err := os.Getwd(); err == nil {
		data, err := os.ReadFile(filepath.Join(wd, ".env"))
		if err == nil {
			dot, err := dotenv.UnmarshalBytesWithLookup(data, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
			if err != nil {
				return nil, fmt.Errorf(".env: %w", err)
			}
			for k, v := range dot {
				if _, set := env[k]; !set {
					env[k] = v
				}
			}
		}
	}
	maps.Copy(env, vars)
	return env, nil
}
