package integration

import (
	"testing"

	"github.com/kiln-build/kiln/test/harness"
)

// ociImage is the one image of an exported OCI archive.
type ociImage = harness.Image

// readOCITar extracts an OCI archive and reads its single image.
func readOCITar(t *testing.T, tar string, _ result) *ociImage {
	t.Helper()
	return harness.ReadImage(t, tar)
}
