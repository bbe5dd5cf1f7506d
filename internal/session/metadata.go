package session

import (
	"encoding/json"
	"fmt"
	"os"
)

// writeMetadata writes --metadata-file: m as indented JSON, as buildx does.
func writeMetadata(path string, m map[string]any) error {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("writing --metadata-file: %w", err)
	}
	return nil
}
