package attest

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	slsa "github.com/in-toto/in-toto-golang/in_toto/slsa_provenance/common"
	pt "github.com/moby/buildkit/solver/llbsolver/provenance/types"
	"github.com/moby/buildkit/util/urlutil"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// DockerfileVersion is the Dockerfile frontend version BuildKit v0.34.2
// records (internalParameters.dockerfileVersion): kiln parses and runs
// Dockerfiles with that release's parser and semantics.
const DockerfileVersion = "1.28.0"

// compatibilityVersion is BuildKit's current compatibility version, which
// it writes into every request.
const compatibilityVersion = 30

// Build is what one platform of a build used and resolved: everything its
// provenance records. The session fills it; nothing here reads files.
type Build struct {
	Request    Request
	Dockerfile []byte           // embedded in mode=max
	Platform   ocispec.Platform // the target platform
	// BuilderPlatform defaults to the machine's (builderPlatform).
	BuilderPlatform *ocispec.Platform
	Images          []ImageSource // base images, FROM and COPY --from=image
	HTTP            []HTTPSource  // ADD of http(s) URLs
	Git             []GitSource   // ADD of git repositories
	Secrets         []Secret      // ids only: a secret's value never enters provenance
	SSH             []SSH
	// Locals are the local sources by name: "context", "dockerfile", and
	// each named context that is a directory.
	Locals []string
	// Network is true when any RUN step had network access (not
	// --network=none): such a build is not hermetic.
	Network bool
	// Epoch, when set (SOURCE_DATE_EPOCH), is the build's start and finish
	// time; kiln omits them otherwise. See docs/attestations.md.
	Epoch *time.Time
}

// ImageSource is a resolved image: its reference as written (normalized or
// not), the platform asked for, and the digest the reference resolved to
// (the index's digest when it is an index, as BuildKit records).
type ImageSource struct {
	Ref      string
	Platform *ocispec.Platform
	Digest   string
	// Local is an image from an OCI layout (oci-layout:// contexts): a
	// pkg:oci URL instead of pkg:docker.
	Local bool
}

// HTTPSource is an ADD URL and the sha256 of what it downloaded.
type HTTPSource struct {
	URL    string
	Digest string
}

// GitSource is an ADD git source: its URL with the #ref fragment as written,
// and the commit it resolved to.
type GitSource struct {
	URL    string
	Commit string
}

// Secret is a secret a RUN step mounted (or a git source may use), by id.
type Secret struct {
	ID       string
	Optional bool
}

// SSH is an SSH agent socket a step used, by id ("default" when unnamed).
type SSH struct {
	ID       string
	Optional bool
}

// Provenance makes the SLSA provenance statement of one platform's build,
// in the fields and order BuildKit v0.34.2 writes them. Subjects are left
// for the exporter (ImageSubjects, FileSubjects).
func Provenance(b Build, o ProvenanceOpts) (Statement, error) {
	pr, err := predicate(b, o)
	if err != nil {
		return Statement{}, err
	}
	var v any = pr
	pType := PredicateSLSA1
	if o.Version == "v0.2" {
		v, pType = pr.ConvertToSLSA02(), PredicateSLSA02
	}
	data, err := json.Marshal(v)
	if err != nil {
		return Statement{}, fmt.Errorf("encoding provenance: %w", err)
	}
	return NewStatement(pType, data), nil
}

func predicate(b Build, o ProvenanceOpts) (*pt.ProvenancePredicateSLSA1, error) {
	deps, err := resolvedDependencies(b)
	if err != nil {
		return nil, err
	}
	ext, vcs := externalParameters(b)
	incomplete := len(b.Locals) > 0 // kiln cannot pin a local directory
	pr := &pt.ProvenancePredicateSLSA1{}
	pr.BuildDefinition.BuildType = pt.BuildKitBuildType1
	pr.BuildDefinition.ResolvedDependencies = deps
	pr.BuildDefinition.ExternalParameters = ext
	pr.BuildDefinition.InternalParameters = internalParameters(b)
	pr.RunDetails.Builder.ID = o.BuilderID
	md := &pt.ProvenanceMetadataSLSA1{
		Completeness: pt.BuildKitComplete{Request: true, ResolvedDependencies: !incomplete},
		Hermetic:     !incomplete && !b.Network,
		Reproducible: o.Reproducible,
	}
	if len(vcs) > 0 {
		md.BuildKitMetadata.VCS = vcs
	}
	pr.RunDetails.Metadata = md
	switch o.Mode {
	case ModeMin:
		if scrubMin(&pr.BuildDefinition.ExternalParameters.Request) {
			md.Completeness.Request = false
		}
	case ModeMax:
		md.BuildKitMetadata.Source = dockerfileSource(b)
	default:
		return nil, fmt.Errorf("provenance mode %q: want min or max", o.Mode)
	}
	if b.Epoch != nil {
		setTimes(md, *b.Epoch, ext)
	}
	return pr, nil
}

// externalParameters is the request as BuildKit records it, and the vcs:*
// attributes it moves into the metadata.
func externalParameters(b Build) (pt.ProvenanceExternalParametersSLSA1, map[string]string) {
	args := b.Request.Args()
	src, rest := configSource(args, b)
	req := pt.Parameters{Frontend: "dockerfile.v0", Args: rest, CompatibilityVersion: compatibilityVersion}
	vcs := map[string]string{}
	for k, v := range req.Args {
		if name, ok := strings.CutPrefix(k, "vcs:"); ok {
			if k == "vcs:source" {
				v = urlutil.RedactCredentials(v)
			}
			delete(req.Args, k)
			if v != "" {
				vcs[name] = v
			}
		}
	}
	for _, s := range secrets(b) {
		req.Secrets = append(req.Secrets, &pt.Secret{ID: s.id, Optional: s.optional})
	}
	for _, s := range mergeUses(b.SSH, func(s SSH) (string, bool) { return cmp.Or(s.ID, "default"), s.Optional }) {
		req.SSH = append(req.SSH, &pt.SSH{ID: s.id, Optional: s.optional})
	}
	for _, l := range slices.Compact(slices.Sorted(slices.Values(b.Locals))) {
		req.Locals = append(req.Locals, &pt.LocalSource{Name: l})
	}
	// BuildKit also records the client's own request (buildx's gateway
	// call, which names no frontend) when it had attributes.
	if _, rootArgs := configSource(args, b); len(rootArgs) > 0 {
		req.Root = &pt.RequestProvenance{ConfigSource: src, Request: &pt.Parameters{Args: rootArgs}}
	}
	return pt.ProvenanceExternalParametersSLSA1{ConfigSource: src, Request: req}, vcs
}

// configSource takes the context and the Dockerfile's name out of the
// arguments, as BuildKit's RequestProvenance does. A remote context (a URL
// in "context") gets the digest of the matching git or http dependency.
func configSource(args map[string]string, b Build) (pt.ProvenanceConfigSourceSLSA1, map[string]string) {
	args = maps.Clone(args)
	key := "context"
	if v := args["contextkey"]; v != "" {
		key = v
	} else if args["input:context"] != "" {
		key = "input:context"
	}
	var src pt.ProvenanceConfigSourceSLSA1
	if v := args[key]; v != "" {
		src.URI, src.Digest = remoteContext(v, b)
		src.URI = urlutil.RedactCredentials(src.URI)
		delete(args, key)
	}
	if v := args["filename"]; v != "" {
		src.Path = v
		delete(args, "filename")
	}
	if len(args) == 0 {
		args = nil
	}
	return src, args
}

func remoteContext(uri string, b Build) (string, slsa.DigestSet) {
	for _, g := range b.Git {
		if g.URL == uri {
			return uri, commitDigest(g.Commit)
		}
	}
	for _, h := range b.HTTP {
		if h.URL == uri {
			return uri, splitDigest(h.Digest)
		}
	}
	return uri, nil
}

// scrubMin drops what mode=min leaves out: build arguments, labels,
// secrets and SSH ids. It reports whether anything of the request was lost.
func scrubMin(req *pt.Parameters) bool {
	lost := false
	args := map[string]string{}
	for k, v := range req.Args {
		if strings.HasPrefix(k, "build-arg:") || strings.HasPrefix(k, "label:") {
			lost = true
			continue
		}
		args[k] = v
	}
	req.Args = args
	req.Secrets, req.SSH = nil, nil
	if req.Root != nil && req.Root.Request != nil && scrubMin(req.Root.Request) {
		lost = true
	}
	return lost
}

func internalParameters(b Build) pt.ProvenanceInternalParametersSLSA1 {
	builder := ocispec.Platform{OS: "linux", Architecture: hostArch()}
	if b.BuilderPlatform != nil {
		builder = *b.BuilderPlatform
	}
	return pt.ProvenanceInternalParametersSLSA1{
		BuilderPlatform:   formatPlatform(builder),
		TargetPlatform:    formatAllPlatform(b.Platform),
		DockerfileVersion: DockerfileVersion,
	}
}

// dockerfileSource embeds the Dockerfile, as mode=max does. BuildKit also
// maps each LLB step to Dockerfile lines; kiln has no LLB steps to name.
func dockerfileSource(b Build) *pt.Source {
	if b.Dockerfile == nil {
		return nil
	}
	name := b.Request.Filename
	if name == "" {
		name = "Dockerfile"
	}
	return &pt.Source{Infos: []pt.SourceInfo{{Filename: name, Language: "Dockerfile", Data: b.Dockerfile}}}
}

// setTimes stamps the build with the epoch instead of the wall clock, and
// derives the invocation id from the epoch and the request, so the same
// inputs give the same bytes (and every platform of a build the same id, as
// BuildKit's one job gives).
func setTimes(md *pt.ProvenanceMetadataSLSA1, epoch time.Time, ext pt.ProvenanceExternalParametersSLSA1) {
	t := epoch.UTC()
	md.StartedOn, md.FinishedOn = &t, &t
	md.InvocationID = invocationID(t, ext)
}

// Git sources may authenticate with these secrets: BuildKit's git source
// asks for them, optionally, whatever the URL.
var gitSecrets = []Secret{{ID: "GIT_AUTH_HEADER", Optional: true}, {ID: "GIT_AUTH_TOKEN", Optional: true}}

func secrets(b Build) []use {
	all := slices.Clone(b.Secrets)
	if len(b.Git) > 0 {
		all = append(all, gitSecrets...)
	}
	return mergeUses(all, func(s Secret) (string, bool) { return s.ID, s.Optional })
}

type use struct {
	id       string
	optional bool
}

// mergeUses is one entry per id, sorted; an id some step needs (not
// optional) is needed.
func mergeUses[T any](in []T, key func(T) (string, bool)) []use {
	byID := map[string]bool{}
	for _, v := range in {
		id, optional := key(v)
		if prev, ok := byID[id]; ok {
			optional = prev && optional
		}
		byID[id] = optional
	}
	out := make([]use, 0, len(byID))
	for id, optional := range byID {
		out = append(out, use{id, optional})
	}
	slices.SortFunc(out, func(a, b use) int { return cmp.Compare(a.id, b.id) })
	return out
}
