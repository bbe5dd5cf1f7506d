package attest

import (
	"maps"
	"strings"

	"github.com/moby/buildkit/util/urlutil"
)

// Request is the build as buildx asks BuildKit for it: what provenance
// records under externalParameters.request. kiln has no frontend request of
// its own, so the session describes its options in buildx's terms and Args
// spells them as buildx's frontend attributes.
type Request struct {
	// Filename is the Dockerfile's name as buildx sends it: the base name of
	// -f (buildx mounts the Dockerfile's directory as the "dockerfile" local).
	Filename  string
	BuildArgs map[string]string // --build-arg, as passed (not the Dockerfile's defaults)
	Labels    map[string]string // --label
	Target    string
	// Attrs are any other frontend attributes, keyed and valued as buildx
	// sends them: "no-cache", "add-hosts", "shm-size", "ulimit",
	// "force-network-mode", "context:NAME", ...
	Attrs map[string]string
	// VCS is what buildx sends as vcs:* attributes (BUILDX_GIT_INFO):
	// "source", "revision", "localdir:context", "localdir:dockerfile".
	VCS map[string]string
}

// hostSpecificArgs are the attributes BuildKit leaves out of provenance
// (provenance.FilterArgs): they describe the builder's machine, not the build.
var hostSpecificArgs = map[string]bool{
	"cgroup-parent":      true,
	"image-resolve-mode": true,
	"platform":           true,
	"cache-imports":      true,
}

// Args are the request's frontend attributes as BuildKit keeps them for
// provenance: buildx's keys, without the host-specific ones and attest:*,
// credentials redacted from context URLs.
func (r Request) Args() map[string]string {
	args := maps.Clone(r.Attrs)
	if args == nil {
		args = map[string]string{}
	}
	for k, v := range r.BuildArgs {
		args["build-arg:"+k] = v
	}
	for k, v := range r.Labels {
		args["label:"+k] = v
	}
	if r.Target != "" {
		args["target"] = r.Target
	}
	if r.Filename != "" {
		args["filename"] = r.Filename
	}
	for k, v := range r.VCS {
		args["vcs:"+k] = v
	}
	return filterArgs(args)
}

func filterArgs(m map[string]string) map[string]string {
	contextKey := "context"
	if v := m["contextkey"]; v != "" {
		contextKey = v
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		if hostSpecificArgs[k] || strings.HasPrefix(k, "attest:") {
			continue
		}
		if k == contextKey || strings.HasPrefix(k, "context:") {
			v = urlutil.RedactCredentials(v)
		}
		out[k] = v
	}
	return out
}
