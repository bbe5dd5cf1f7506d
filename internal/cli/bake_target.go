package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/kiln-build/kiln/internal/bake"
)

// bakeJobFor turns a resolved target into kiln build's options, through
// the same flag parsing as `kiln build` (so every value is validated, and
// what kiln cannot honour yet is refused, alike).
func bakeJobFor(name string, t *bake.Target, g *globalFlags, tmp string) (*bakeJob, error) {
	dir, err := localContext(t)
	if err != nil {
		return nil, err
	}
	f := &buildFlags{
		file: targetDockerfile(t, dir), target: deref(t.Target), network: "default", shmSize: deref(t.ShmSize),
		tags: t.Tags, platforms: t.Platforms, ulimits: t.Ulimits, noCacheFilter: t.NoCacheFilter,
		annotations: t.Annotations, cacheFrom: t.CacheFrom.Strings(), cacheTo: t.CacheTo.Strings(),
		secrets: t.Secrets.Strings(), ssh: t.SSH.Strings(), progress: "plain",
	}
	f.attest.attest = t.Attest.Strings()
	// The target's entitlements (bake's --allow checked them) are the
	// build's --allow.
	for _, e := range t.Entitlements {
		if e != "network.host" && e != "security.insecure" {
			return nil, fmt.Errorf("entitlement %s is not supported yet (network.host, security.insecure)", e)
		}
		f.allow = append(f.allow, e)
	}
	for i, s := range t.Secrets {
		if s.Src == "" && s.Env == "" {
			// buildx's default source: the variable named like the id if
			// set, else the file of that name.
			if _, ok := os.LookupEnv(s.ID); !ok {
				f.secrets[i] = "id=" + s.ID + ",src=" + s.ID
			}
		}
	}
	if t.NetworkMode != nil && *t.NetworkMode != "" {
		f.network = *t.NetworkMode
	}
	if t.DockerfileInline != nil {
		f.file = filepath.Join(tmp, name+".Dockerfile")
		if err := os.WriteFile(f.file, []byte(*t.DockerfileInline), 0o644); err != nil {
			return nil, err
		}
	}
	f.noCache = t.NoCache != nil && *t.NoCache
	f.pull = t.Pull != nil && *t.Pull
	f.buildArgs = pairs(t.Args, "=")
	f.labels = pairs(t.Labels, "=")
	f.hosts = pairs(t.ExtraHosts, ":")
	var needs []string
	for k, v := range t.Contexts {
		if link, ok := strings.CutPrefix(v, "target:"); ok {
			needs = append(needs, link)
			continue
		}
		f.contexts = append(f.contexts, k+"="+strings.TrimPrefix(v, "cwd://"))
	}
	load := false
	for _, o := range t.Outputs {
		switch {
		case o.Type == "cacheonly":
		case o.Type == "docker" && o.Dest == "":
			load = true
		default:
			if (o.Type == "image" || o.Type == "registry") && len(t.Tags) == 0 && o.Attrs["name"] == "" {
				return nil, fmt.Errorf("output type=%s needs a name: set tags", o.Type)
			}
			f.outputs = append(f.outputs, o.String())
		}
	}
	o, err := f.options(dir, g)
	if err != nil {
		return nil, err
	}
	o.Load = load
	for k, v := range t.Contexts {
		if strings.HasPrefix(v, "target:") {
			o.Contexts[strings.ToLower(k)] = v // pointed at the result once built
		}
	}
	return &bakeJob{name: name, opts: o, file: f.file, needs: dedupNames(needs), done: make(chan struct{})}, nil
}

// localContext is the target's context directory; remote contexts (git,
// https) are not supported yet.
func localContext(t *bake.Target) (string, error) {
	c := strings.TrimPrefix(deref(t.Context), "cwd://")
	if c == "" {
		c = "."
	}
	if strings.Contains(c, "://") || strings.HasPrefix(c, "git@") || strings.HasPrefix(c, "target:") {
		return "", fmt.Errorf("context %s: only local directories are supported yet", c)
	}
	return c, nil
}

// dockerfileOf is the Dockerfile's path: relative to the context, as in
// buildx (kiln build's -f is relative to the working directory).
func targetDockerfile(t *bake.Target, dir string) string {
	df := deref(t.Dockerfile)
	if df == "" {
		df = "Dockerfile"
	}
	if df == "-" || filepath.IsAbs(df) {
		return df
	}
	return filepath.Join(dir, df)
}

func pairs(m map[string]*string, sep string) []string {
	var out []string
	for k, v := range m {
		if v != nil {
			out = append(out, k+sep+*v)
		}
	}
	slices.Sort(out)
	return out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func dedupNames(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}
