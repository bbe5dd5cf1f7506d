// Package session runs one build session (`kiln build`): it opens the
// store, makes the worker (snapshotter, solver, runner, context views) and
// runs the phases over it: load the context, parse and plan the
// Dockerfile, solve the stages for every platform, then commit the image
// and export it where asked.
package session

import (
	"io"

	"github.com/kiln-build/kiln/internal/attest"
	"github.com/kiln-build/kiln/internal/exporter"
	"github.com/kiln-build/kiln/internal/instr"
	"github.com/kiln-build/kiln/internal/isolation"
	"github.com/kiln-build/kiln/internal/layer"
	"github.com/kiln-build/kiln/internal/remotecache"
)

// Options are the build's inputs, as the CLI parsed them.
type Options struct {
	ContextDir string
	Dockerfile string // -f; "" means <context>/Dockerfile
	Tags       []string
	Target     string
	BuildArgs  map[string]string
	Labels     map[string]string
	// Annotations are --annotation values for the manifests and the index.
	Annotations []exporter.Annotation
	Secrets     map[string][]byte // --secret id → value
	SSH         map[string]string // --ssh id → agent socket
	Outputs     []exporter.Output
	// Compression of the layers this build writes, from the outputs'
	// compression= and compression-level= (buildx's exporter options).
	Compression      layer.Compression
	CompressionLevel int
	MetadataFile     string // --metadata-file
	Metadata         bool   // fill Result.Metadata without a file (bake's --metadata-file)
	Load             bool   // --load: docker load the result
	Progress         string // plain, quiet, auto
	NoCache          bool
	NoCacheFor       []string // --no-cache-filter stages
	Explain          bool     // --explain-cache
	Report           bool     // --report: image size next to the stages it copies from
	Network          string
	Run              instr.RunOptions // --add-host, --shm-size, --ulimit
	IIDFile          string
	Quiet            bool
	StoreRoot        string
	Isolation        isolation.Mode     // the mode the CLI decided; "" means root
	ConfigPath       string             // --config kiln.toml
	Platforms        []string           // --platform values; none means this machine's
	CacheTo          []remotecache.Spec // --cache-to
	CacheFrom        []remotecache.Spec // --cache-from
	Contexts         map[string]string  // --build-context name → docker-image://REF or an absolute directory
	Pull             bool               // --pull: refresh base images from their registries
	Push             bool               // --push: push every -t name
	Out              io.Writer          // progress
	// Shared, set by bake, is the state of the other builds running with
	// this one (see Shared); Name is this build's name on its progress lines.
	Shared *Shared
	Name   string

	// CacheOnly builds from the caches alone and mounts, unpacks and runs
	// nothing: a step to run fails the build with solver.ErrMiss, a mount
	// with snapshot.ErrUnavailable. A plain user's kiln tries it before
	// entering its user namespace, so a no-op rebuild starts kiln once.
	CacheOnly bool
	// ContextOwners, set with CacheOnly, maps the owners of the contexts'
	// files to those the user namespace the build would run in shows, so
	// their keys are the ones the build inside made.
	ContextOwners func(uid, gid uint32) (uint32, uint32)

	// Attest is what the build attests (attest.Parse of --provenance,
	// --sbom, --attest and the BUILDKIT_ATTEST_* build args).
	Attest attest.Attestations

	// requestedNoCache, when set, is the --no-cache provenance records:
	// --verify-reproducible's second build runs without the cache but
	// must describe the same request.
	requestedNoCache *bool
}

// CacheOnlyCandidate says whether the build may be tried CacheOnly first:
// it writes nothing but the store (no -o, --push, --load, --cache-to, no
// SBOM to scan), it uses the cache (no --no-cache, --no-cache-filter), and
// its progress can be held back and shown at the end (not the live view).
func (o Options) CacheOnlyCandidate() bool {
	return len(o.Outputs) == 0 && !o.Push && !o.Load && len(o.CacheTo) == 0 && o.Attest.SBOM == nil &&
		!o.NoCache && len(o.NoCacheFor) == 0 && o.Progress != "tty" && o.Shared == nil
}
