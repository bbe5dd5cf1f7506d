package harness

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Unpack makes a runtime bundle of img with umoci (a third-party reader of
// the image) and returns its directory; the root filesystem is its rootfs/.
// The image must have a ref name (build with -t). It skips t without umoci.
func (img *Image) Unpack(t testing.TB) string {
	t.Helper()
	Require(t, "umoci")
	if img.Ref == "" {
		t.Fatalf("index.json names no %s: build with -t", ocispec.AnnotationRefName)
	}
	bundle := filepath.Join(t.TempDir(), "bundle")
	out, err := exec.Command("umoci", "unpack", "--image", img.Layout+":"+img.Ref, bundle).CombinedOutput()
	if err != nil {
		t.Fatalf("umoci unpack: %v\n%s", err, out)
	}
	return bundle
}

// Rootfs unpacks img (see Unpack) and returns its root filesystem directory.
func (img *Image) Rootfs(t testing.TB) string {
	t.Helper()
	return filepath.Join(img.Unpack(t), "rootfs")
}

// RunBundle runs a bundle's process (the image's entrypoint and command, as
// umoci wrote them) with runc, on a runc state dir of its own, without a
// terminal, and returns its stdout.
func RunBundle(t testing.TB, bundle string) string {
	t.Helper()
	cfgPath := filepath.Join(bundle, "config.json")
	var spec map[string]any
	readJSON(t, cfgPath, &spec)
	spec["process"].(map[string]any)["terminal"] = false
	data, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	WriteFile(t, cfgPath, string(data), 0o644)
	cmd := exec.Command("runc", "--root", t.TempDir(), "run", "--bundle", bundle, "kiln-test")
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("runc run: %v\nstdout: %s\nstderr: %s", err, out, stderr)
	}
	return string(out)
}
