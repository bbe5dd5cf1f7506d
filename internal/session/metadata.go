package session

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/kiln-build/kiln/internal/exporter"
	"github.com/kiln-build/kiln/internal/store"
)

// writeMetadata writes --metadata-file with buildx's keys (exporter.Metadata).
func writeMetadata(path string, s *store.Store, r exporter.Result, outputs []exporter.Output) error {
	m, err := exporter.Metadata(s, r, outputs)
	if err != nil {
		return fmt.Errorf("writing --metadata-file: %w", err)
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
