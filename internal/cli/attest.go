package cli

import (
	"github.com/spf13/pflag"

	"github.com/kiln-build/kiln/internal/attest"
)

// buildx's attestation flags, read by attest.Parse as buildx reads them:
// provenance as BuildKit writes it (buildx's default mode=min,inline-only
// on every build unless BUILDX_NO_DEFAULT_ATTESTATIONS is set), and SBOMs
// from a generator image speaking BuildKit's scanner protocol.
type attestFlags struct {
	provenance, sbom string
	attest           []string
}

func (a *attestFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&a.provenance, "provenance", "", "provenance attestation: true, false, mode=min|max[,…] (shorthand for --attest type=provenance)")
	fl.Lookup("provenance").NoOptDefVal = "true"
	fl.StringVar(&a.sbom, "sbom", "", "SBOM attestation: true, false, generator=IMAGE[,…] (shorthand for --attest type=sbom)")
	fl.Lookup("sbom").NoOptDefVal = "true"
	fl.StringArrayVar(&a.attest, "attest", nil, "attestation parameters: type=provenance[,mode=min|max,version=v1|v0.2,builder-id=…,filename=…,inline-only=…,reproducible=…] or type=sbom[,generator=IMAGE]")
}

// parse reads the flags and the BUILDKIT_ATTEST_* build args.
func (a *attestFlags) parse(buildArgs map[string]string) (attest.Attestations, error) {
	return attest.Parse(attest.Flags{Provenance: a.provenance, SBOM: a.sbom, Attest: a.attest, BuildArgs: buildArgs})
}
