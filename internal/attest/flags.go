package attest

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	distref "github.com/distribution/reference"
	"github.com/tonistiigi/go-csvvalue"
)

// Provenance modes and SLSA versions.
const (
	ModeMin = "min"
	ModeMax = "max"

	VersionSLSA1  = "v1"
	VersionSLSA02 = "v0.2"
)

// DefaultGenerator is BuildKit's default SBOM scanner image.
const DefaultGenerator = "docker.io/docker/buildkit-syft-scanner:stable-1"

// NoDefaultEnv turns off buildx's default provenance.
const NoDefaultEnv = "BUILDX_NO_DEFAULT_ATTESTATIONS"

// Attestations is what a build asked for; nil means none of that type.
type Attestations struct {
	Provenance *ProvenanceOpts
	SBOM       *SBOMOpts
}

// ProvenanceOpts are the provenance attributes (--attest type=provenance,…).
type ProvenanceOpts struct {
	Mode         string // ModeMin or ModeMax
	Version      string // VersionSLSA1 or VersionSLSA02
	BuilderID    string // runDetails.builder.id
	Filename     string // its file in a local or tar output
	Reproducible bool   // buildkit_reproducible
	// InlineOnly keeps it out of outputs that are not images (local, tar,
	// single-platform oci and docker): buildx's default provenance is.
	InlineOnly bool
	// Default is buildx's implicit mode=min,inline-only=true provenance,
	// not asked for on the command line.
	Default bool
}

// SBOMOpts are the SBOM attributes (--attest type=sbom,…).
type SBOMOpts struct {
	// Generator is the scanner image (BuildKit's scanner protocol).
	Generator string
	// Params are the other attributes, passed to the scanner as
	// BUILDKIT_SCAN_<KEY>=<VALUE>.
	Params map[string]string
	// ScanContext and ScanStage are the BUILDKIT_SBOM_SCAN_CONTEXT and
	// BUILDKIT_SBOM_SCAN_STAGE build arguments as passed ("" when not):
	// true, false or stage names (ScanEnabled).
	ScanContext, ScanStage string
}

// Flags are buildx's attestation flags and what else decides them.
type Flags struct {
	Provenance string   // --provenance ("" when not given)
	SBOM       string   // --sbom
	Attest     []string // --attest, each "type=…,key=value,…"
	BuildArgs  map[string]string
	// LookupEnv reads BUILDX_NO_DEFAULT_ATTESTATIONS; nil is os.LookupEnv.
	LookupEnv func(string) (string, bool)
}

// Parse turns the flags into what the build attests, as buildx and BuildKit
// read them: --provenance and --sbom are shorthands for --attest, the last
// --attest of a type wins, true/false spell disabled=false/true, an
// attestation asked for without a mode is mode=max, and a build that says
// nothing about provenance gets mode=min,inline-only=true unless
// BUILDX_NO_DEFAULT_ATTESTATIONS is true.
func Parse(f Flags) (Attestations, error) {
	specs, err := collect(f)
	if err != nil {
		return Attestations{}, err
	}
	var a Attestations
	if s, ok := specs["provenance"]; ok {
		if !s.disabled {
			if a.Provenance, err = parseProvenance(s.attrs); err != nil {
				return Attestations{}, err
			}
		}
	} else if on, err := defaultProvenance(f.LookupEnv); err != nil {
		return Attestations{}, err
	} else if on {
		a.Provenance = &ProvenanceOpts{Mode: ModeMin, Version: VersionSLSA1, InlineOnly: true, Default: true}
	}
	if s, ok := specs["sbom"]; ok && !s.disabled {
		if a.SBOM, err = parseSBOM(s.attrs, f.BuildArgs); err != nil {
			return Attestations{}, err
		}
	}
	return a, nil
}

type spec struct {
	disabled bool
	attrs    map[string]string
}

// collect reads every attestation flag into one spec per type; later
// flags win, --provenance and --sbom count after --attest (buildx appends
// them), and BUILDKIT_ATTEST_<TYPE> build arguments come first of all.
func collect(f Flags) (map[string]spec, error) {
	var in []string
	for _, t := range []string{"provenance", "sbom"} {
		if v, ok := f.BuildArgs["BUILDKIT_ATTEST_"+strings.ToUpper(t)]; ok {
			in = append(in, "type="+t+","+v)
		}
	}
	in = append(in, f.Attest...)
	for flag, v := range map[string]string{"provenance": f.Provenance, "sbom": f.SBOM} {
		if v != "" {
			in = append(in, shorthand(flag, v))
		}
	}
	out := map[string]spec{}
	for _, v := range in {
		typ, s, err := parseSpec(v)
		if err != nil {
			return nil, fmt.Errorf("--attest %s: %w", v, err)
		}
		out[typ] = s
	}
	return out, nil
}

// shorthand is buildx's CanonicalizeAttest: --provenance=true is
// type=provenance,disabled=false; anything else is attributes.
func shorthand(typ, v string) string {
	if b, err := strconv.ParseBool(v); err == nil {
		return fmt.Sprintf("type=%s,disabled=%t", typ, !b)
	}
	return "type=" + typ + "," + v
}

func parseSpec(v string) (string, spec, error) {
	fields, err := csvvalue.Fields(v, nil)
	if err != nil {
		return "", spec{}, err
	}
	s := spec{attrs: map[string]string{}}
	typ := ""
	for _, field := range fields {
		key, val, ok := strings.Cut(field, "=")
		if !ok {
			if field == "" {
				continue // "type=sbom," from an empty shorthand
			}
			return "", spec{}, fmt.Errorf("invalid value %s: want key=value", field)
		}
		switch strings.TrimSpace(strings.ToLower(key)) {
		case "type":
			typ = val
		case "disabled":
			b, err := strconv.ParseBool(val)
			if err != nil {
				return "", spec{}, fmt.Errorf("invalid value %s: %w", field, err)
			}
			s.disabled = b
		default:
			s.attrs[key] = val
		}
	}
	switch typ {
	case "":
		return "", spec{}, fmt.Errorf("attestation type not specified")
	case "provenance", "sbom":
		return typ, s, nil
	}
	return "", spec{}, fmt.Errorf("unknown attestation type %q: want provenance or sbom", typ)
}

func defaultProvenance(lookup func(string) (string, bool)) (bool, error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	v, ok := lookup(NoDefaultEnv)
	if !ok {
		return true, nil
	}
	off, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("invalid %s %q: %w", NoDefaultEnv, v, err)
	}
	return !off, nil
}

func parseProvenance(attrs map[string]string) (*ProvenanceOpts, error) {
	p := &ProvenanceOpts{Mode: ModeMax, Version: VersionSLSA1}
	for k, v := range attrs {
		var err error
		switch k {
		case "mode":
			p.Mode, err = provenanceMode(v)
		case "version":
			if v != VersionSLSA1 && v != VersionSLSA02 {
				err = fmt.Errorf("invalid provenance SLSA version %q: want v1 or v0.2", v)
			}
			p.Version = v
		case "builder-id":
			p.BuilderID = v
		case "filename":
			p.Filename = v
		case "reproducible":
			if p.Reproducible, err = strconv.ParseBool(v); err != nil {
				err = fmt.Errorf("invalid reproducible %q: want true or false", v)
			}
		case "inline-only":
			p.InlineOnly, _ = strconv.ParseBool(v) // BuildKit: anything but true is false
		case "capture-usage", "complete-materials":
			err = refuseTrue(k, v)
		default:
			err = fmt.Errorf("unknown provenance attribute %q", k)
		}
		if err != nil {
			return nil, fmt.Errorf("--attest type=provenance: %w", err)
		}
	}
	return p, nil
}

func provenanceMode(v string) (string, error) {
	switch v {
	case ModeMin, ModeMax:
		return v, nil
	case "full":
		return ModeMax, nil
	}
	return "", fmt.Errorf("invalid mode %q: want min or max", v)
}

// refuseTrue accepts BuildKit attributes kiln cannot honour only when off:
// kiln samples no resource usage, and local contexts leave its
// provenance's materials incomplete.
func refuseTrue(k, v string) error {
	b, err := strconv.ParseBool(v)
	if err != nil {
		return fmt.Errorf("invalid %s %q: %w", k, v, err)
	}
	if b {
		return fmt.Errorf("%s=true is not supported yet", k)
	}
	return nil
}

func parseSBOM(attrs map[string]string, buildArgs map[string]string) (*SBOMOpts, error) {
	s := &SBOMOpts{Generator: DefaultGenerator, Params: map[string]string{}}
	for k, v := range attrs {
		if k != "generator" {
			s.Params[k] = v
			continue
		}
		ref, err := distref.ParseNormalizedNamed(v)
		if err != nil {
			return nil, fmt.Errorf("--attest type=sbom: invalid generator %q: %w", v, err)
		}
		s.Generator = distref.TagNameOnly(ref).String()
	}
	s.ScanContext = buildArgs["BUILDKIT_SBOM_SCAN_CONTEXT"]
	s.ScanStage = buildArgs["BUILDKIT_SBOM_SCAN_STAGE"]
	return s, nil
}

// ScanEnabled is BuildKit's reading of BUILDKIT_SBOM_SCAN_CONTEXT and
// BUILDKIT_SBOM_SCAN_STAGE for one stage: a boolean, or a comma-separated
// list of stage names.
func ScanEnabled(value, stage string) bool {
	if b, err := strconv.ParseBool(value); err == nil {
		return b
	}
	for _, s := range strings.Split(value, ",") {
		if s == stage {
			return true
		}
	}
	return false
}
