package session

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-build/kiln/internal/attest"
	"github.com/kiln-build/kiln/internal/convert"
	"github.com/kiln-build/kiln/internal/imports"
	"github.com/kiln-build/kiln/internal/instr"
	"github.com/kiln-build/kiln/internal/plan"
)

// sources is what one platform's build resolved outside the context: what
// its provenance lists as resolvedDependencies.
type sources struct {
	images  []attest.ImageSource
	remotes []instr.Remote
}

// sourcesOf is a build's sources in provenance's terms: every external
// image its stages resolved, as written, with the platform asked for (an
// oci-layout:// one by its layout's name), and the remote sources fetched.
func sourcesOf(r *instr.Result) *sources {
	s := &sources{remotes: r.Remotes}
	for _, img := range r.Images {
		p := img.Platform
		src := attest.ImageSource{Ref: img.Ref, Platform: &p, Digest: img.Digest.String()}
		if strings.HasPrefix(img.Ref, "oci-layout://") {
			src.Ref, src.Local = layoutName(img.Ref), true
		}
		s.images = append(s.images, src)
	}
	return s
}

// layoutName names an oci-layout:// image in provenance (pkg:oci/NAME):
// the layout directory's base name, which is no machine path, with the
// tag or digest asked for.
func layoutName(ref string) string {
	lr, err := imports.ParseLayoutRef(ref)
	if err != nil {
		return "layout"
	}
	name := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			return r
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return '-'
	}, filepath.Base(lr.Dir))
	name = strings.Trim(name, ".-_")
	if name == "" {
		name = "layout"
	}
	if lr.Digest != "" {
		return name + "@" + lr.Digest.String()
	}
	if lr.Tag != "" {
		return name + ":" + lr.Tag
	}
	return name
}

// provenanceInput describes one platform's build for attest.Provenance, in
// the terms buildx sends BuildKit.
func provenanceInput(o Options, dockerfile []byte, p *plan.Plan, target ocispec.Platform, src *sources) attest.Build {
	b := attest.Build{
		Request:    request(o),
		Dockerfile: dockerfile,
		Platform:   target,
		Locals:     []string{"context", "dockerfile"},
		Epoch:      explicitEpoch(o.BuildArgs),
	}
	for name, v := range o.Contexts {
		if !strings.Contains(v, "://") {
			b.Locals = append(b.Locals, name)
		}
	}
	// Stages resolve concurrently: attest orders the list as BuildKit
	// does, for the same bytes every time.
	b.Images = slices.Clone(src.images)
	for _, r := range src.remotes {
		if r.Git {
			b.Git = append(b.Git, attest.GitSource{URL: r.URL, Commit: r.Digest})
		} else {
			b.HTTP = append(b.HTTP, attest.HTTPSource{URL: r.URL, Digest: r.Digest})
		}
	}
	slices.SortFunc(b.Images, func(a, c attest.ImageSource) int { return strings.Compare(a.Ref+a.Digest, c.Ref+c.Digest) })
	slices.SortFunc(b.HTTP, func(a, c attest.HTTPSource) int { return strings.Compare(a.URL+a.Digest, c.URL+c.Digest) })
	slices.SortFunc(b.Git, func(a, c attest.GitSource) int { return strings.Compare(a.URL+a.Commit, c.URL+c.Commit) })
	b.Secrets, b.SSH, b.Network = runNeeds(p, o.Network)
	return b
}

// request is the build as buildx would have sent it: the attributes
// provenance records under externalParameters.request.
func request(o Options) attest.Request {
	r := attest.Request{
		Filename:  "Dockerfile",
		BuildArgs: maps.Clone(o.BuildArgs),
		Labels:    maps.Clone(o.Labels),
		Target:    o.Target,
		Attrs:     map[string]string{},
	}
	if o.Dockerfile != "" {
		r.Filename = filepath.Base(o.Dockerfile)
	}
	noCache := o.NoCache
	if o.requestedNoCache != nil {
		noCache = *o.requestedNoCache
	}
	switch {
	case noCache:
		r.Attrs["no-cache"] = ""
	case len(o.NoCacheFor) > 0:
		r.Attrs["no-cache"] = strings.Join(o.NoCacheFor, ",")
	}
	if o.Network != "" && o.Network != "default" {
		r.Attrs["force-network-mode"] = o.Network
	}
	if len(o.Run.ExtraHosts) > 0 {
		r.Attrs["add-hosts"] = strings.Join(o.Run.ExtraHosts, ",")
	}
	if o.Run.ShmSize > 0 {
		r.Attrs["shm-size"] = strconv.FormatInt(o.Run.ShmSize, 10)
	}
	for name, v := range o.Contexts {
		if !strings.Contains(v, "://") {
			v = "local:" + name // buildx sends a directory as a local of that name
		}
		r.Attrs["context:"+name] = v
	}
	return r
}

// runNeeds reads the plan's RUN steps: the secrets and SSH sockets they
// mount (ids only) and whether any has network access. Mount flags are
// parsed when expanded, so each RUN is expanded (a fresh copy) with the
// stage's global args.
func runNeeds(p *plan.Plan, network string) ([]attest.Secret, []attest.SSH, bool) {
	var secrets []attest.Secret
	var ssh []attest.SSH
	net := false
	for _, st := range p.Order {
		cmds, err := p.Instructions(st)
		if err != nil {
			continue // the solve used these commands: it cannot fail here
		}
		var env []string
		for k, v := range st.Args {
			env = append(env, k+"="+v)
		}
		for _, c := range cmds {
			if a, ok := c.(*instructions.ArgCommand); ok {
				env = append(env, argValues(a, st.Args, p.BuildArgs)...)
			}
			run, ok := c.(*instructions.RunCommand)
			if !ok {
				continue
			}
			if convert.Expand(p.File, p.Escape, run, env) != nil {
				continue // the solve expanded it without error: not reached
			}
			if mode := instructions.GetNetwork(run); network != "none" && mode != instructions.NetworkNone {
				net = true
			}
			for _, m := range instructions.GetMounts(run) {
				switch m.Type {
				case instructions.MountTypeSecret:
					id := m.CacheID
					if id == "" {
						id = filepath.Base(m.Target)
					}
					secrets = append(secrets, attest.Secret{ID: id, Optional: !m.Required})
				case instructions.MountTypeSSH:
					id := m.CacheID
					if id == "" {
						id = "default"
					}
					ssh = append(ssh, attest.SSH{ID: id, Optional: !m.Required})
				}
			}
		}
	}
	return secrets, ssh, net
}

// argValues are a stage ARG's values as RUN sees them: the build arg,
// else the inherited global value, else the default.
func argValues(a *instructions.ArgCommand, globals, buildArgs map[string]string) []string {
	var env []string
	for _, kv := range a.Args {
		v, ok := buildArgs[kv.Key]
		if !ok {
			v, ok = globals[kv.Key]
		}
		if !ok && kv.Value != nil {
			v, ok = *kv.Value, true
		}
		if ok {
			env = append(env, kv.Key+"="+v)
		}
	}
	return env
}

// explicitEpoch is SOURCE_DATE_EPOCH when the build was given one: only
// then does provenance carry times (docs/attestations.md).
func explicitEpoch(args map[string]string) *time.Time {
	if _, ok := args["SOURCE_DATE_EPOCH"]; !ok {
		if v := os.Getenv("SOURCE_DATE_EPOCH"); v == "" {
			return nil
		}
	}
	t, err := Epoch("", args)
	if err != nil {
		return nil
	}
	return &t
}
