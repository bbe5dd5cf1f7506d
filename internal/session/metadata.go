package session

import (
	"encoding/json"
	"fmt"
	"os"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// writeMetadata writes --metadata-file with buildx's keys.
func writeMetadata(path string, tags []string, desc ocispec.Descriptor) error {
	m := map[string]any{
		"containerimage.digest":     desc.Digest.String(),
		"containerimage.descriptor": desc,
	}
	if len(tags) > 0 {
		m["image.name"] = tags[0]
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("writing --metadata-file: %w", err)
	}
	return nil
}
