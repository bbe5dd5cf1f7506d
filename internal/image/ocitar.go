package image

import (
	"archive/tar"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"time"

	digest "github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-build/kiln/internal/store"
	"github.com/kiln-build/kiln/internal/testhook"
)

// Named is a top-level image of an export and the name it goes by ("" for none).
type Named struct {
	Name       string
	Descriptor ocispec.Descriptor
}

// WriteOCITar writes an OCI image layout as a tar stream, as
// `docker buildx build --output type=oci` does: oci-layout, index.json and
// every blob the images reach. Entries are sorted and timestamped with
// epoch so the same images give the same bytes.
func WriteOCITar(w io.Writer, s *store.Store, images []Named, epoch time.Time) error {
	return writeLayoutTar(w, s, images, epoch, nil)
}

// writeLayoutTar writes the OCI layout, plus extra files (docker's
// manifest.json) right after index.json.
func writeLayoutTar(w io.Writer, s *store.Store, images []Named, epoch time.Time, extra map[string][]byte) error {
	images, blobs, partial, err := exportBlobs(s, images)
	if err != nil {
		return err
	}
	sort.Slice(blobs, func(i, j int) bool { return blobs[i] < blobs[j] })
	tw := tar.NewWriter(w)
	if err := writeTarFile(tw, "oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`), epoch); err != nil {
		return err
	}
	index, err := layoutIndex(images)
	if err != nil {
		return err
	}
	if err := writeTarFile(tw, "index.json", index, epoch); err != nil {
		return err
	}
	for _, name := range sortedKeys(extra) {
		if err := writeTarFile(tw, name, extra[name], epoch); err != nil {
			return err
		}
	}
	if err := writeTarDir(tw, "blobs/", epoch); err != nil {
		return err
	}
	if err := writeTarDir(tw, "blobs/sha256/", epoch); err != nil {
		return err
	}
	for _, d := range blobs {
		testhook.Point(testhook.Export)
		if raw, ok := partial[d]; ok {
			if err := writeTarFile(tw, "blobs/sha256/"+d.Encoded(), raw, epoch); err != nil {
				return err
			}
			continue
		}
		if err := copyBlob(tw, s, d, epoch); err != nil {
			return err
		}
	}
	return tw.Close()
}

func layoutIndex(images []Named) ([]byte, error) {
	idx := ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex}
	for _, n := range images {
		d := n.Descriptor
		if n.Name != "" {
			ann := map[string]string{}
			for k, v := range d.Annotations { // --annotation manifest-descriptor:…
				ann[k] = v
			}
			ann["io.containerd.image.name"] = n.Name
			ann[ocispec.AnnotationRefName] = refNameOf(n.Name)
			d.Annotations = ann
		}
		idx.Manifests = append(idx.Manifests, d)
	}
	return json.Marshal(idx)
}

// refNameOf is the tag part, as BuildKit writes org.opencontainers.image.ref.name.
func refNameOf(name string) string {
	for i := len(name) - 1; i >= 0; i-- {
		switch name[i] {
		case ':':
			return name[i+1:]
		case '/':
			return "latest"
		}
	}
	return "latest"
}

// reachable lists the blobs of the images, sorted, each once. The
// manifests of an index that are not in the store (the platforms a pull did
// not fetch) are skipped; a missing config or layer of a manifest that is
// there is an error.
func reachable(s *store.Store, images []Named) ([]digest.Digest, error) {
	seen := map[digest.Digest]bool{}
	var walk func(d ocispec.Descriptor) error
	walk = func(d ocispec.Descriptor) error {
		if seen[d.Digest] {
			return nil
		}
		seen[d.Digest] = true
		if !isIndex(d.MediaType) && d.MediaType != ocispec.MediaTypeImageManifest &&
			d.MediaType != "application/vnd.docker.distribution.manifest.v2+json" {
			return nil
		}
		data, err := s.ReadBlob(d.Digest)
		if err != nil {
			return err
		}
		var node struct {
			Config    *ocispec.Descriptor  `json:"config"`
			Layers    []ocispec.Descriptor `json:"layers"`
			Manifests []ocispec.Descriptor `json:"manifests"`
		}
		if err := json.Unmarshal(data, &node); err != nil {
			return fmt.Errorf("decoding %s: %w", d.Digest, err)
		}
		children := node.Layers
		for _, m := range node.Manifests {
			// An index's other platforms are absent after an ordinary
			// pull: a normal state, not a missing blob.
			if s.HasBlob(m.Digest) {
				children = append(children, m)
			}
		}
		if node.Config != nil {
			children = append(children, *node.Config)
		}
		for _, c := range children {
			if err := walk(c); err != nil {
				return err
			}
		}
		return nil
	}
	for _, n := range images {
		if err := walk(n.Descriptor); err != nil {
			return nil, err
		}
	}
	out := make([]digest.Digest, 0, len(seen))
	for d := range seen {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}

func copyBlob(tw *tar.Writer, s *store.Store, d digest.Digest, epoch time.Time) error {
	f, err := s.OpenBlob(d)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	hdr := &tar.Header{Name: "blobs/sha256/" + d.Encoded(), Mode: 0o644, Size: fi.Size(), ModTime: epoch, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("writing tar: %w", err)
	}
	if _, err := io.Copy(tw, f); err != nil {
		return fmt.Errorf("writing blob %s: %w", d, err)
	}
	return nil
}

func writeTarFile(tw *tar.Writer, name string, data []byte, epoch time.Time) error {
	hdr := &tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: epoch, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("writing tar: %w", err)
	}
	_, err := tw.Write(data)
	return err
}

func writeTarDir(tw *tar.Writer, name string, epoch time.Time) error {
	hdr := &tar.Header{Name: name, Mode: 0o755, ModTime: epoch, Typeflag: tar.TypeDir, Format: tar.FormatPAX}
	return tw.WriteHeader(hdr)
}
