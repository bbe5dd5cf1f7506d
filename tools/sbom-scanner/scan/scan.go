// Package scan makes an SPDX JSON SBOM of a directory tree with syft, the
// way BuildKit's syft scanner does for an image's root filesystem.
package scan

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/anchore/syft/syft"
	"github.com/anchore/syft/syft/cataloging"
	"github.com/anchore/syft/syft/cataloging/filecataloging"
	"github.com/anchore/syft/syft/cataloging/pkgcataloging"
	"github.com/anchore/syft/syft/format"
	"github.com/anchore/syft/syft/format/spdxjson"
	"github.com/anchore/syft/syft/source"

	// Newer RPM databases are SQLite; syft opens them through database/sql.
	_ "modernc.org/sqlite"
)

// Options tune one scan.
type Options struct {
	// Name is the SBOM document's name: the directory's base name by
	// default ("sbom" for BuildKit's core target).
	Name string
	// Catalogers, when set, is a syft cataloger selection expression list
	// (BUILDKIT_SCAN_SELECT_CATALOGERS): it replaces the default selection.
	Catalogers []string
}

// Selection is the default cataloger selection: syft's catalogers for
// images, as BuildKit's scanner picks them (a directory's own selection
// misses node_modules), the file catalogers, the SBOM-file cataloger, and
// npm's lockfile cataloger, which the image selection leaves out.
func Selection() cataloging.SelectionRequest {
	return cataloging.NewSelectionRequest().
		WithDefaults(pkgcataloging.ImageTag, filecataloging.FileTag).
		WithAdditions("sbom-cataloger", "javascript-lock-cataloger")
}

// Dir scans the directory tree rooted at dir (an unpacked image) and
// returns its SPDX JSON document.
func Dir(ctx context.Context, dir string, o Options) ([]byte, error) {
	name := o.Name
	if name == "" {
		name = filepath.Base(dir)
	}
	// The base path makes dir the scan's "/": absolute symlinks in the
	// image resolve inside it, never onto the scanner's own filesystem.
	cfg := syft.DefaultGetSourceConfig().
		WithSources("dir").
		WithBasePath(dir).
		WithAlias(source.Alias{Name: name})
	src, err := syft.GetSource(ctx, dir, cfg)
	if err != nil {
		return nil, fmt.Errorf("opening %s for scanning: %w", dir, err)
	}
	defer src.Close()
	sel := Selection()
	if len(o.Catalogers) > 0 {
		sel = cataloging.NewSelectionRequest().WithExpression(o.Catalogers...)
	}
	s, err := syft.CreateSBOM(ctx, src, syft.DefaultCreateSBOMConfig().WithCatalogerSelection(sel))
	if err != nil {
		return nil, fmt.Errorf("scanning %s: %w", dir, err)
	}
	s.Descriptor.Name, s.Descriptor.Version = "syft", SyftVersion()
	enc, err := spdxjson.NewFormatEncoderWithConfig(spdxjson.DefaultEncoderConfig())
	if err != nil {
		return nil, fmt.Errorf("making the SPDX encoder: %w", err)
	}
	data, err := format.Encode(*s, enc)
	if err != nil {
		return nil, fmt.Errorf("encoding the SPDX document: %w", err)
	}
	return bytes.TrimSpace(data), nil
}

// SyftVersion is the version of the syft module this binary was built
// with, from its build information.
func SyftVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			if m.Path == "github.com/anchore/syft" {
				return strings.TrimPrefix(m.Version, "v")
			}
		}
	}
	return "unknown"
}
