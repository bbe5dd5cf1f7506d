package harness

import (
	"archive/tar"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"testing"

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Archive is an OCI image layout tar (kiln's -o type=oci, kiln save,
// buildx's oci exporter), extracted, with every image manifest it holds.
type Archive struct {
	Tar       string
	Layout    string        // the tar, extracted
	Index     ocispec.Index // index.json
	TopDigest digest.Digest // what index.json points at first
	TopType   string        // its media type
	Images    []*Image      // the image manifests, through a nested index if there is one
	// Attestations are the index's attestation manifests (BuildKit's
	// vnd.docker.reference.type=attestation-manifest entries), not images.
	Attestations []ocispec.Descriptor
}

// Image is one image manifest of an Archive: its config, layers, history
// and (Files) final file system.
type Image struct {
	Tar, Layout string
	Descriptor  ocispec.Descriptor // as the index lists it
	Digest      digest.Digest
	Ref         string // its org.opencontainers.image.ref.name annotation
	Platform    string // os/arch of its config ("linux/amd64")
	Manifest    ocispec.Manifest
	Config      ocispec.Image
	RawConfig   map[string]any // for fields image-spec lacks (Shell, Healthcheck, OnBuild)

	files map[string]File
}

// ReadArchive extracts the OCI tar and reads every image manifest it holds,
// following index.json into a nested image index if there is one.
func ReadArchive(t testing.TB, tarPath string) *Archive {
	t.Helper()
	a := &Archive{Tar: tarPath, Layout: Untar(t, tarPath)}
	readJSON(t, filepath.Join(a.Layout, "index.json"), &a.Index)
	if len(a.Index.Manifests) == 0 {
		t.Fatalf("%s: index.json lists no manifests", tarPath)
	}
	a.TopDigest, a.TopType = a.Index.Manifests[0].Digest, a.Index.Manifests[0].MediaType
	descs := a.Index.Manifests
	if len(descs) == 1 && descs[0].MediaType == ocispec.MediaTypeImageIndex {
		var nested ocispec.Index
		readJSON(t, a.Blob(descs[0].Digest), &nested)
		descs = nested.Manifests
	}
	for _, d := range descs {
		if d.Annotations["vnd.docker.reference.type"] == "attestation-manifest" {
			a.Attestations = append(a.Attestations, d)
			continue
		}
		img := a.readImage(t, d)
		if d.Platform != nil && d.Platform.OS+"/"+d.Platform.Architecture != img.Platform {
			t.Errorf("manifest %s: descriptor platform %s/%s, config says %s", d.Digest, d.Platform.OS, d.Platform.Architecture, img.Platform)
		}
		a.Images = append(a.Images, img)
	}
	return a
}

// ReadImage extracts an OCI tar whose index.json lists exactly one image
// manifest, and reads that image.
func ReadImage(t testing.TB, tarPath string) *Image {
	t.Helper()
	a := &Archive{Tar: tarPath, Layout: Untar(t, tarPath)}
	readJSON(t, filepath.Join(a.Layout, "index.json"), &a.Index)
	if len(a.Index.Manifests) != 1 {
		t.Fatalf("index.json has %d manifests, want 1: %+v", len(a.Index.Manifests), a.Index)
	}
	if mt := a.Index.Manifests[0].MediaType; mt == ocispec.MediaTypeImageIndex {
		t.Fatalf("%s holds an image index, not one image: read it with ReadArchive", tarPath)
	}
	return a.readImage(t, a.Index.Manifests[0])
}

func (a *Archive) readImage(t testing.TB, d ocispec.Descriptor) *Image {
	t.Helper()
	img := &Image{Tar: a.Tar, Layout: a.Layout, Descriptor: d, Digest: d.Digest, Ref: d.Annotations[ocispec.AnnotationRefName]}
	readJSON(t, img.Blob(d.Digest), &img.Manifest)
	readJSON(t, img.Blob(img.Manifest.Config.Digest), &img.Config)
	readJSON(t, img.Blob(img.Manifest.Config.Digest), &img.RawConfig)
	img.Platform = img.Config.OS + "/" + img.Config.Architecture
	return img
}

// Blob returns the path of a blob of the layout.
func (a *Archive) Blob(d digest.Digest) string { return blobPath(a.Layout, d) }

// Blob returns the path of a blob of the image's layout.
func (img *Image) Blob(d digest.Digest) string { return blobPath(img.Layout, d) }

func blobPath(layout string, d digest.Digest) string {
	return filepath.Join(layout, "blobs", d.Algorithm().String(), d.Encoded())
}

// Image returns the image for platform (os/arch), failing t if there is none.
func (a *Archive) Image(t testing.TB, platform string) *Image {
	t.Helper()
	for _, img := range a.Images {
		if img.Platform == platform {
			return img
		}
	}
	t.Fatalf("archive has no manifest for %s (it has %v)", platform, a.Platforms())
	return nil
}

// Platforms lists the images' platforms, in index order.
func (a *Archive) Platforms() []string {
	var ps []string
	for _, img := range a.Images {
		ps = append(ps, img.Platform)
	}
	return ps
}

// Untar extracts an OCI layout tar (directories and regular files only)
// into a fresh temp dir of t and returns it.
func Untar(t testing.TB, tarPath string) string {
	t.Helper()
	dir := t.TempDir()
	if err := untar(tarPath, dir); err != nil {
		t.Fatalf("extracting %s: %v", tarPath, err)
	}
	return dir
}

func untar(tarPath, dir string) error {
	f, err := os.Open(tarPath)
	if err != nil {
		return err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		name := path.Clean("/" + hdr.Name)
		if name == "/" {
			continue
		}
		p := filepath.Join(dir, filepath.FromSlash(name))
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := writeEntry(p, tr); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%s: entry type %q in an OCI layout", hdr.Name, hdr.Typeflag)
		}
	}
}

func writeEntry(p string, r io.Reader) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	out, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, r); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// ReadJSON decodes the JSON file at path into v.
func ReadJSON(t testing.TB, path string, v any) {
	t.Helper()
	readJSON(t, path, v)
}

func readJSON(t testing.TB, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("decoding %s: %v", path, err)
	}
}
