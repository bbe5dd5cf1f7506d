package imports

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/store"
)

// maxManifestSize bounds a manifest or index read from a layout (as
// containerd bounds those it fetches).
const maxManifestSize = 4 << 20

// maxIndexDepth bounds indexes nested in indexes.
const maxIndexDepth = 8

// LayoutRef is an image in an OCI image layout directory, as buildx names
// it: oci-layout://PATH[:TAG][@sha256:DIGEST].
type LayoutRef struct {
	Dir    string
	Tag    string
	Digest digest.Digest
}

// ParseLayoutRef parses an oci-layout:// reference; a reference with
// neither tag nor digest means the tag "latest", as in buildx.
func ParseLayoutRef(ref string) (LayoutRef, error) {
	rest, ok := strings.CutPrefix(ref, "oci-layout://")
	if !ok || rest == "" {
		return LayoutRef{}, fmt.Errorf("invalid oci-layout reference %q: want oci-layout://PATH[:TAG][@DIGEST]", ref)
	}
	var r LayoutRef
	if p, d, ok := strings.Cut(rest, "@"); ok {
		dg, err := digest.Parse(d)
		if err != nil {
			return LayoutRef{}, fmt.Errorf("invalid oci-layout reference %q: %w", ref, err)
		}
		rest, r.Digest = p, dg
	}
	if i := strings.LastIndex(rest, ":"); i > strings.LastIndex(rest, "/") {
		rest, r.Tag = rest[:i], rest[i+1:]
	}
	if r.Tag == "" && r.Digest == "" {
		r.Tag = "latest"
	}
	r.Dir = rest
	return r, nil
}

func (r LayoutRef) String() string {
	s := "oci-layout://" + r.Dir
	if r.Tag != "" {
		s += ":" + r.Tag
	}
	if r.Digest != "" {
		s += "@" + r.Digest.String()
	}
	return s
}

// Layout copies the image ref names, for platform p, from its OCI layout
// into the store (every blob verified) and returns it with the digest of its
// manifest.
func Layout(s *store.Store, ref string, p ocispec.Platform) (*image.Image, digest.Digest, error) {
	r, err := ParseLayoutRef(ref)
	if err != nil {
		return nil, "", err
	}
	top, err := r.find()
	if err != nil {
		return nil, "", err
	}
	mediaType, err := r.copyManifests(s, top, 0)
	if err != nil {
		return nil, "", err
	}
	if top.MediaType == "" {
		top.MediaType = mediaType
	}
	img, manifest, err := image.Load(s, top, p)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", r, err)
	}
	for _, l := range img.Layers {
		if err := r.copyBlob(s, ocispec.Descriptor{Digest: l.Digest, Size: l.Size}); err != nil {
			return nil, "", err
		}
	}
	return img, manifest, nil
}

// find picks the index.json entry the reference names.
func (r LayoutRef) find() (ocispec.Descriptor, error) {
	data, err := os.ReadFile(filepath.Join(r.Dir, "index.json"))
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("%s is not an OCI image layout: %w", r.Dir, err)
	}
	var idx ocispec.Index
	if err := json.Unmarshal(data, &idx); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("reading %s/index.json: %w", r.Dir, err)
	}
	var tags []string
	for _, m := range idx.Manifests {
		tag := m.Annotations[ocispec.AnnotationRefName]
		tags = append(tags, tag)
		if (r.Digest == "" || m.Digest == r.Digest) && (r.Tag == "" || tag == r.Tag) {
			return m, nil
		}
	}
	if r.Digest != "" {
		// A digest inside the layout that index.json does not list directly.
		if f, err := image.OpenLayoutBlob(r.Dir, ocispec.Descriptor{Digest: r.Digest}); err == nil {
			f.Close()
			return ocispec.Descriptor{Digest: r.Digest}, nil // media type read from the content
		}
	}
	if len(idx.Manifests) == 1 && r.Digest == "" && r.Tag == "latest" && tags[0] == "" {
		return idx.Manifests[0], nil
	}
	return ocispec.Descriptor{}, fmt.Errorf("%s: no image %s in the layout (tags: %s)", r.Dir, r.wanted(), strings.Join(tags, ", "))
}

func (r LayoutRef) wanted() string {
	if r.Digest != "" {
		return r.Digest.String()
	}
	return r.Tag
}

// copyManifests copies desc and, for an index, every manifest it lists and
// their configs: small blobs that let image.Load choose the platform. It
// returns desc's media type as its content states it. depth bounds nested
// indexes (an index may list itself).
func (r LayoutRef) copyManifests(s *store.Store, desc ocispec.Descriptor, depth int) (string, error) {
	if depth > maxIndexDepth {
		return "", fmt.Errorf("%s: indexes nested more than %d deep", r.Dir, maxIndexDepth)
	}
	if desc.Size > maxManifestSize {
		return "", fmt.Errorf("%s: manifest %s has %d bytes, more than the %d a manifest may have", r.Dir, desc.Digest, desc.Size, maxManifestSize)
	}
	if err := r.copyBlob(s, desc); err != nil {
		return "", err
	}
	f, err := s.OpenBlob(desc.Digest)
	if err != nil {
		return "", err
	}
	data, err := io.ReadAll(io.LimitReader(f, maxManifestSize+1))
	f.Close()
	if err != nil {
		return "", err
	}
	if len(data) > maxManifestSize {
		return "", fmt.Errorf("%s: manifest %s is larger than the %d bytes a manifest may have", r.Dir, desc.Digest, maxManifestSize)
	}
	var probe struct {
		MediaType string               `json:"mediaType"`
		Manifests []ocispec.Descriptor `json:"manifests"`
		Config    *ocispec.Descriptor  `json:"config"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return "", fmt.Errorf("%s: decoding %s: %w", r.Dir, desc.Digest, err)
	}
	if probe.Config != nil {
		return probe.MediaType, r.copyBlob(s, *probe.Config)
	}
	for _, m := range probe.Manifests {
		if _, err := r.copyManifests(s, m, depth+1); err != nil {
			return "", err
		}
	}
	return probe.MediaType, nil
}

// copyBlob copies one blob into the store unless it is there, checking its
// digest (and its size, when the descriptor has one); a blob with the wrong
// content is refused. The blob is opened only by a validated digest, inside
// the layout (image.OpenLayoutBlob).
func (r LayoutRef) copyBlob(s *store.Store, desc ocispec.Descriptor) error {
	d := desc.Digest
	if s.HasBlob(d) {
		return nil
	}
	f, err := image.OpenLayoutBlob(r.Dir, desc)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%s: blob %s is missing from the layout", r.Dir, d)
		}
		return err
	}
	defer f.Close()
	got, _, err := s.WriteBlob(func(w io.Writer) error {
		n, err := io.Copy(w, image.LimitBlob(f, desc.Size))
		if err == nil && desc.Size > 0 && n != desc.Size {
			err = fmt.Errorf("%s: blob %s has more bytes than its descriptor's %d", r.Dir, d, desc.Size)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("%s: copying blob %s: %w", r.Dir, d, err)
	}
	if got != d {
		return fmt.Errorf("%s: blob %s has digest %s: the layout is corrupt", r.Dir, d, got)
	}
	return nil
}
