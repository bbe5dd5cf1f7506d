package integration

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ociImage is the one image of an exported OCI archive.
type ociImage struct {
	tar       string
	layout    string // the archive, extracted
	ref       string // org.opencontainers.image.ref.name of the manifest
	digest    digest.Digest
	manifest  ocispec.Manifest
	config    ocispec.Image
	rawConfig map[string]any // for fields image-spec lacks (Shell)
	build     result         // the build that made it, for failure messages
}

// readOCITar extracts an OCI archive and reads its single image.
func readOCITar(t *testing.T, tar string, built result) *ociImage {
	t.Helper()
	img := &ociImage{tar: tar, layout: t.TempDir(), build: built}
	if out, err := exec.Command("tar", "-xf", tar, "-C", img.layout).CombinedOutput(); err != nil {
		t.Fatalf("extracting %s: %v\n%s", tar, err, out)
	}
	var index ocispec.Index
	readJSON(t, filepath.Join(img.layout, "index.json"), &index)
	if len(index.Manifests) != 1 {
		t.Fatalf("index.json has %d manifests, want 1: %+v", len(index.Manifests), index)
	}
	m := index.Manifests[0]
	img.digest, img.ref = m.Digest, m.Annotations[ocispec.AnnotationRefName]
	readJSON(t, img.blob(m.Digest), &img.manifest)
	readJSON(t, img.blob(img.manifest.Config.Digest), &img.config)
	readJSON(t, img.blob(img.manifest.Config.Digest), &img.rawConfig)
	return img
}

func (img *ociImage) blob(d digest.Digest) string {
	return filepath.Join(img.layout, "blobs", d.Algorithm().String(), d.Encoded())
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("decoding %s: %v", path, err)
	}
}

// unpack makes a runtime bundle of img with umoci and returns its directory
// (the root filesystem is its rootfs/).
func (img *ociImage) unpack(t *testing.T) string {
	t.Helper()
	if img.ref == "" {
		t.Fatalf("index.json names no %s: build with -t", ocispec.AnnotationRefName)
	}
	bundle := filepath.Join(t.TempDir(), "bundle")
	out, err := exec.Command("umoci", "unpack", "--image", img.layout+":"+img.ref, bundle).CombinedOutput()
	if err != nil {
		t.Fatalf("umoci unpack: %v\n%s", err, out)
	}
	return bundle
}

// rootfs unpacks img and returns its root filesystem directory.
func (img *ociImage) rootfs(t *testing.T) string {
	t.Helper()
	return filepath.Join(img.unpack(t), "rootfs")
}

// runBundle runs the bundle's process (the image's entrypoint and command,
// as umoci wrote them) with runc, without a terminal, and returns its stdout.
func runBundle(t *testing.T, bundle string) string {
	t.Helper()
	cfgPath := filepath.Join(bundle, "config.json")
	var spec map[string]any
	readJSON(t, cfgPath, &spec)
	spec["process"].(map[string]any)["terminal"] = false
	data, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, cfgPath, string(data), 0o644)
	cmd := exec.Command("runc", "--root", t.TempDir(), "run", "--bundle", bundle, "kiln-it")
	var stderr []byte
	out, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); ok {
		stderr = ee.Stderr
	}
	if err != nil {
		t.Fatalf("runc run: %v\nstdout: %s\nstderr: %s", err, out, stderr)
	}
	return string(out)
}
