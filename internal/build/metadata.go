package build

import (
	"encoding/json"
	"fmt"
	"os"
)

// writeMetadata writes --metadata-file with buildx's keys.
func writeMetadata(path string, tags []string, b built) error {
	m := map[string]any{
		"containerimage.digest":     b.desc.Digest.String(),
		"containerimage.descriptor": b.desc,
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
