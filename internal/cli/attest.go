package cli

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/kiln-build/kiln/internal/attest"
)

// buildx's attestation flags, read by attest.Parse as buildx reads them.
// kiln does not write attestations yet: turning them off (--provenance=false,
// the usual fix for registries that choke on attestation manifests) works
// unchanged, and asking for one is a clear error rather than an image
// silently without it. buildx's implicit minimal provenance is not written.
type attestFlags struct {
	provenance, sbom string
	attest           []string
}

func (a *attestFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&a.provenance, "provenance", "", "provenance attestation: only false is accepted (kiln writes no attestations yet)")
	fl.Lookup("provenance").NoOptDefVal = "true"
	fl.StringVar(&a.sbom, "sbom", "", "SBOM attestation: only false is accepted (kiln writes no attestations yet)")
	fl.Lookup("sbom").NoOptDefVal = "true"
	fl.StringArrayVar(&a.attest, "attest", nil, "attestation parameters: only type=provenance|sbom,disabled=true is accepted")
}

func (a *attestFlags) check() error {
	req, err := attest.Parse(attest.Flags{Provenance: a.provenance, SBOM: a.sbom, Attest: a.attest})
	if err != nil {
		return err
	}
	if p := req.Provenance; p != nil && !p.Default {
		return fmt.Errorf("provenance attestations are not supported yet (kiln writes none); use --provenance=false")
	}
	if req.SBOM != nil {
		return fmt.Errorf("SBOM attestations are not supported yet (kiln writes none); use --sbom=false")
	}
	return nil
}
