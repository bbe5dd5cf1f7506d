package image

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/kiln-build/kiln/internal/store"
)

// WriteOCIDir writes an OCI image layout as a directory (buildx's
// type=oci,tar=false). Blobs already there are kept, so several images can
// share one layout.
func WriteOCIDir(dir string, s *store.Store, images []Named) error {
	images, blobs, partial, err := exportBlobs(s, images)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	for _, d := range blobs {
		dst := filepath.Join(dir, "blobs", "sha256", d.Encoded())
		if _, err := os.Stat(dst); err == nil {
			continue
		}
		if raw, ok := partial[d]; ok {
			if err := os.WriteFile(dst, raw, 0o644); err != nil {
				return err
			}
			continue
		}
		if err := copyBlobFile(s, d.Encoded(), dst); err != nil {
			return err
		}
	}
	index, err := layoutIndex(images)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "index.json"), index, 0o644)
}

func copyBlobFile(s *store.Store, encoded, dst string) error {
	src := filepath.Join(s.Root(), "blobs", "sha256", encoded)
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.CreateTemp(filepath.Dir(dst), ".blob-")
	if err != nil {
		return err
	}
	defer os.Remove(out.Name())
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Rename(out.Name(), dst)
}
