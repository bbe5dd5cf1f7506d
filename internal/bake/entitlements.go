package bake

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Entitlements are --allow values: what a definition may reach beyond the
// working directory, as buildx's bake checks before building.
type Entitlements struct {
	FSRead, FSWrite  []string
	NetworkHost      bool
	SecurityInsecure bool
	checkFS          bool // BUILDX_BAKE_ENTITLEMENTS_FS=0 turns the path checks off
}

// ParseEntitlements reads --allow values; the working directory is always
// readable and writable.
func ParseEntitlements(values []string, wd string) (Entitlements, error) {
	e := Entitlements{FSRead: []string{wd}, FSWrite: []string{wd}, checkFS: true}
	if v, ok := os.LookupEnv("BUILDX_BAKE_ENTITLEMENTS_FS"); ok {
		on, err := strconv.ParseBool(v)
		if err != nil {
			return e, fmt.Errorf("failed to parse BUILDX_BAKE_ENTITLEMENTS_FS value %q", v)
		}
		e.checkFS = on
	}
	for _, v := range values {
		k, path, _ := strings.Cut(v, "=")
		switch {
		case v == "network.host":
			e.NetworkHost = true
		case v == "security.insecure":
			e.SecurityInsecure = true
		case k == "fs.read" && path != "":
			e.FSRead = append(e.FSRead, path)
		case k == "fs.write" && path != "":
			e.FSWrite = append(e.FSWrite, path)
		case k == "fs" && path != "":
			e.FSRead, e.FSWrite = append(e.FSRead, path), append(e.FSWrite, path)
		default:
			return e, fmt.Errorf("--allow %s is not supported yet (network.host, security.insecure, fs.read=PATH, fs.write=PATH, fs=PATH)", v)
		}
	}
	return e, nil
}

// Access is one path a target reads or writes.
type Access struct {
	Path, Why string
	Write     bool
}

// Accesses lists the local paths a resolved target reads and writes, made
// absolute against the working directory.
func (t *Target) Accesses() []Access {
	var out []Access
	read := func(p, why string) {
		if p != "" && !strings.Contains(p, "://") && !strings.HasPrefix(p, "target:") && !strings.HasPrefix(p, "docker-image:") {
			out = append(out, Access{Path: p, Why: why})
		}
	}
	if t.Context != nil {
		read(strings.TrimPrefix(*t.Context, "cwd://"), "context")
	}
	if t.Dockerfile != nil && t.DockerfileInline == nil && t.Context != nil && !strings.Contains(*t.Context, "://") {
		df := *t.Dockerfile
		if !filepath.IsAbs(df) {
			df = filepath.Join(strings.TrimPrefix(*t.Context, "cwd://"), df)
		}
		read(df, "dockerfile")
	}
	for k, v := range t.Contexts {
		if p, ok := strings.CutPrefix(v, "oci-layout://"); ok {
			read(strings.SplitN(p, "@", 2)[0], "contexts."+k)
			continue
		}
		read(strings.TrimPrefix(v, "cwd://"), "contexts."+k)
	}
	for _, c := range t.CacheFrom {
		if c.Type == "local" {
			read(c.Attrs["src"], "cache-from")
		}
	}
	for _, s := range t.Secrets {
		read(s.Src, "secret "+s.ID)
	}
	for _, s := range t.SSH {
		for _, p := range s.Paths {
			read(p, "ssh "+s.ID)
		}
	}
	for _, o := range t.Outputs {
		if o.Dest != "" && o.Dest != "-" {
			out = append(out, Access{Path: o.Dest, Why: "output", Write: true})
		}
	}
	for _, c := range t.CacheTo {
		if c.Type == "local" && c.Attrs["dest"] != "" {
			out = append(out, Access{Path: c.Attrs["dest"], Why: "cache-to", Write: true})
		}
	}
	return out
}

// Check lists the --allow values the targets need and were not given.
func (e Entitlements) Check(targets map[string]*Target) error {
	var missing []string
	names := make([]string, 0, len(targets))
	for n := range targets {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		t := targets[n]
		if t.NetworkMode != nil && *t.NetworkMode == "host" && !e.NetworkHost {
			missing = append(missing, fmt.Sprintf("--allow=network.host (target %s: network=host)", n))
		}
		if !e.checkFS {
			continue
		}
		for _, a := range t.Accesses() {
			abs := absEval(a.Path)
			allowed, flag := e.FSRead, "fs.read"
			if a.Write {
				allowed, flag = e.FSWrite, "fs.write"
			}
			if !within(abs, allowed) {
				missing = append(missing, fmt.Sprintf("--allow=%s=%s (target %s: %s)", flag, a.Path, n, a.Why))
			}
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("additional privileges requested; allow them with:\n  %s", strings.Join(dedup(missing), "\n  "))
	}
	return nil
}

// absEval is p absolute, with symlinks of its existing part resolved: a
// link inside the working directory to a path outside is outside.
func absEval(p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	rest := ""
	for dir := abs; ; dir = filepath.Dir(dir) {
		if real, err := filepath.EvalSymlinks(dir); err == nil {
			return filepath.Join(real, rest)
		}
		if dir == filepath.Dir(dir) {
			return abs
		}
		rest = filepath.Join(filepath.Base(dir), rest)
	}
}

func within(p string, roots []string) bool {
	for _, r := range roots {
		if r == "*" {
			return true
		}
		root := absEval(r)
		if rel, err := filepath.Rel(root, p); p == root || err == nil && filepath.IsLocal(rel) {
			return true
		}
	}
	return false
}
