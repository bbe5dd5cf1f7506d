package attest

import (
	"path"
	"strings"
)

// Where an attestation goes in one output.
type Where int

const (
	// Nowhere: the output does not carry it.
	Nowhere Where = iota
	// InIndex: an attestation manifest in the image index (Attach).
	InIndex
	// AsFile: a statement file at the output's root (provenance.json,
	// sbom.spdx.json), for local and tar outputs.
	AsFile
)

// Plan says where each requested attestation goes in one output.
type Plan struct {
	Provenance, SBOM Where
}

// PlanFor places the attestations in an output of this type ("image",
// "registry", "oci", "docker", "local", "tar", "cacheonly"), as BuildKit's
// exporters do: an image (pushed or not) carries all of them; an oci or
// docker archive carries inline-only ones (buildx's default provenance)
// only when it is multi-platform, since only then is it an index anyway;
// local and tar outputs write the ones that are not inline-only as files.
func (a Attestations) PlanFor(output string, multiPlatform bool) Plan {
	var p Plan
	if a.Provenance != nil {
		p.Provenance = place(output, multiPlatform, a.Provenance.InlineOnly)
	}
	if a.SBOM != nil {
		p.SBOM = place(output, multiPlatform, false)
	}
	return p
}

func place(output string, multiPlatform, inlineOnly bool) Where {
	switch output {
	case "image", "registry":
		return InIndex
	case "oci", "docker":
		if multiPlatform || !inlineOnly {
			return InIndex
		}
	case "local", "tar":
		if !inlineOnly {
			return AsFile
		}
	}
	return Nowhere
}

// Any reports whether the plan puts anything in the output.
func (p Plan) Any() bool { return p.Provenance != Nowhere || p.SBOM != Nowhere }

// ProvenanceFile is the provenance statement's file name in a local or tar
// output: the filename attribute's base name, else provenance.json.
func (p ProvenanceOpts) ProvenanceFile() string {
	if p.Filename != "" {
		return path.Base(p.Filename)
	}
	return "provenance.json"
}

// SBOMFile names an SBOM statement in a local or tar output: sbom.spdx.json
// for the final image, sbom-NAME.spdx.json for a scanned stage or the
// context (the scanner names them so).
func SBOMFile(name string) string {
	if name == "" || name == "sbom" {
		return "sbom.spdx.json"
	}
	return "sbom-" + name + ".spdx.json"
}

// PlatformFile is a statement's file name when a multi-platform local
// output is not split per platform: the platform before the extension,
// "provenance.linux_arm64.json", as BuildKit names it.
func PlatformFile(name, platformID string) string {
	ext := path.Ext(name)
	id := strings.NewReplacer("/", "_", `\`, "_", ":", "_").Replace(platformID)
	return strings.TrimSuffix(name, ext) + "." + id + ext
}
