//lint:file-ignore SA1019 BuildKit's provenance types are built on in-toto's v1 ResourceDescriptor; its bytes are what BuildKit writes.

package attest

import (
	"cmp"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math/big"
	"runtime"
	"slices"
	"time"

	"github.com/containerd/platforms"
	distref "github.com/distribution/reference"
	slsa "github.com/in-toto/in-toto-golang/in_toto/slsa_provenance/common"
	slsa1 "github.com/in-toto/in-toto-golang/in_toto/slsa_provenance/v1"
	pt "github.com/moby/buildkit/solver/llbsolver/provenance/types"
	"github.com/moby/buildkit/util/purl"
	"github.com/moby/buildkit/util/urlutil"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/package-url/packageurl-go"
)

// resolvedDependencies lists the images, then the git sources, then the
// URLs, each kind sorted, as BuildKit's materials are.
func resolvedDependencies(b Build) ([]slsa1.ResourceDescriptor, error) {
	var out []slsa1.ResourceDescriptor
	images, err := uniqueImages(b.Images)
	if err != nil {
		return nil, err
	}
	for _, img := range images {
		kind := packageurl.TypeDocker
		if img.Local {
			kind = packageurl.TypeOCI
		}
		uri, err := purl.RefToPURL(kind, img.Ref, img.Platform)
		if err != nil {
			return nil, fmt.Errorf("recording base image %s: %w", img.Ref, err)
		}
		out = append(out, slsa1.ResourceDescriptor{URI: uri, Digest: splitDigest(img.Digest)})
	}
	for _, g := range uniqueBy(b.Git, func(g GitSource) string { return urlutil.RedactCredentials(g.URL) }) {
		out = append(out, slsa1.ResourceDescriptor{URI: urlutil.RedactCredentials(g.URL), Digest: commitDigest(g.Commit)})
	}
	for _, h := range uniqueBy(b.HTTP, func(h HTTPSource) string { return urlutil.RedactCredentials(h.URL) }) {
		out = append(out, slsa1.ResourceDescriptor{URI: urlutil.RedactCredentials(h.URL), Digest: splitDigest(h.Digest)})
	}
	return out, nil
}

// uniqueImages is BuildKit's AddImage and OptimizeImageSources: one entry
// per reference and platform, and a digest reference dropped when the same
// name and tag is there by tag.
func uniqueImages(in []ImageSource) ([]ImageSource, error) {
	var out []ImageSource
	byTag := map[string]bool{}
	for _, img := range in {
		if slices.ContainsFunc(out, func(o ImageSource) bool { return sameImage(o, img) }) {
			continue
		}
		out = append(out, img)
		ref, nameTag, err := refNameTag(img.Ref)
		if err != nil {
			return nil, err
		}
		if _, canonical := ref.(distref.Canonical); !canonical {
			byTag[nameTag] = true
		}
	}
	kept := out[:0]
	for _, img := range out {
		ref, nameTag, _ := refNameTag(img.Ref)
		if _, canonical := ref.(distref.Canonical); canonical && byTag[nameTag] {
			continue
		}
		kept = append(kept, img)
	}
	slices.SortStableFunc(kept, func(a, b ImageSource) int { return cmp.Compare(a.Ref, b.Ref) })
	return kept, nil
}

func sameImage(a, b ImageSource) bool {
	if a.Ref != b.Ref || a.Local != b.Local {
		return false
	}
	if a.Platform == nil || b.Platform == nil {
		return a.Platform == b.Platform
	}
	p, q := a.Platform, b.Platform
	return p.OS == q.OS && p.Architecture == q.Architecture && p.OSVersion == q.OSVersion && p.Variant == q.Variant
}

func refNameTag(s string) (distref.Named, string, error) {
	ref, err := distref.ParseNormalizedNamed(s)
	if err != nil {
		return nil, "", fmt.Errorf("recording base image %q: %w", s, err)
	}
	tag := "latest"
	if t, ok := ref.(distref.Tagged); ok {
		tag = t.Tag()
	}
	return ref, ref.Name() + ":" + tag, nil
}

// uniqueBy keeps the first of each key, sorted by key.
func uniqueBy[T any](in []T, key func(T) string) []T {
	seen := map[string]bool{}
	var out []T
	for _, v := range in {
		if k := key(v); !seen[k] {
			seen[k] = true
			out = append(out, v)
		}
	}
	slices.SortStableFunc(out, func(a, b T) int { return cmp.Compare(key(a), key(b)) })
	return out
}

// commitDigest is a git commit as a digest set: sha1, or sha256 for a
// SHA-256 repository.
func commitDigest(commit string) slsa.DigestSet {
	if len(commit) == 64 {
		return slsa.DigestSet{"sha256": commit}
	}
	return slsa.DigestSet{"sha1": commit}
}

func splitDigest(d string) slsa.DigestSet {
	if d == "" {
		return nil
	}
	dg := digest.Digest(d)
	return slsa.DigestSet{dg.Algorithm().String(): dg.Encoded()}
}

func hostArch() string { return runtime.GOARCH }

// formatAllPlatform is targetPlatform's spelling: os/arch[/variant], with
// the OS version when there is one.
func formatAllPlatform(p ocispec.Platform) string {
	return platforms.FormatAll(platforms.Normalize(p))
}

// invocationID is a 25-character id in BuildKit's alphabet, from the epoch
// and the request: the same build gives the same id, another build another.
func invocationID(epoch time.Time, ext pt.ProvenanceExternalParametersSLSA1) string {
	data, _ := json.Marshal(struct {
		Epoch   time.Time `json:"epoch"`
		Request any       `json:"request"`
	}{epoch, ext})
	sum := sha256.Sum256(data)
	n := new(big.Int).SetBytes(sum[:16])
	id := n.Text(36)
	for len(id) < 25 {
		id = "0" + id
	}
	return id
}
