package exporter

import (
	"encoding/json"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-build/kiln/internal/store"
)

// Metadata is what --metadata-file holds after a build, with buildx's keys:
// the top descriptor and its digest (containerimage.digest, the one a
// push-by-digest node hands to `kiln imagetools create`), a single
// manifest's config digest, and image.name (the type=image outputs'
// name=, else the -t names, comma-separated as BuildKit writes them).
func Metadata(s *store.Store, r Result, outputs []Output) (map[string]any, error) {
	desc, err := metadataDesc(r, outputs)
	if err != nil {
		return nil, err
	}
	m := map[string]any{
		"containerimage.digest":     desc.Digest.String(),
		"containerimage.descriptor": desc,
	}
	if desc.MediaType == ocispec.MediaTypeImageManifest {
		data, err := s.ReadBlob(desc.Digest)
		if err != nil {
			return nil, err
		}
		var man ocispec.Manifest
		if err := json.Unmarshal(data, &man); err != nil {
			return nil, err
		}
		m["containerimage.config.digest"] = man.Config.Digest.String()
	}
	var names []string
	for _, o := range outputs {
		if o.Type == "image" && o.Attrs["name"] != "" {
			names = append(names, o.Attrs["name"])
		}
	}
	if len(names) == 0 {
		names = r.Tags
	}
	if len(names) > 0 {
		m["image.name"] = strings.Join(names, ",")
	}
	return m, nil
}

// metadataDesc is what the first type=image output exported (with its
// attestations, if it carries any), else what the -t names point at.
func metadataDesc(r Result, outputs []Output) (ocispec.Descriptor, error) {
	for _, o := range outputs {
		if o.Type == "image" {
			e := storeImage{out: o}
			return r.descFor(e.form(r))
		}
	}
	if r.Named.Digest != "" {
		return r.Named, nil
	}
	return r.Desc, nil
}
