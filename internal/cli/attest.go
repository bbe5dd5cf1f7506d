package cli

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
)

// buildx's attestation flags. kiln writes no attestations; scripts that
// turn them off (--provenance=false, the usual fix for registries that
// choke on attestation manifests) work unchanged, and asking for one is a
// clear error rather than an image silently without it.
type attestFlags struct {
	provenance, sbom string
	attest           []string
}

func (a *attestFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&a.provenance, "provenance", "", "provenance attestation: only false is accepted (kiln writes no attestations)")
	fl.Lookup("provenance").NoOptDefVal = "true"
	fl.StringVar(&a.sbom, "sbom", "", "SBOM attestation: only false is accepted (kiln writes no attestations)")
	fl.Lookup("sbom").NoOptDefVal = "true"
	fl.StringArrayVar(&a.attest, "attest", nil, "attestation parameters: only type=provenance|sbom,disabled=true is accepted")
}

func (a *attestFlags) check() error {
	for flag, v := range map[string]string{"--provenance": a.provenance, "--sbom": a.sbom} {
		if v == "" {
			continue
		}
		if err := attestationOff(flag, v); err != nil {
			return err
		}
	}
	for _, v := range a.attest {
		fields := map[string]string{}
		for _, f := range strings.Split(v, ",") {
			k, val, _ := strings.Cut(f, "=")
			fields[strings.TrimSpace(k)] = strings.TrimSpace(val)
		}
		if off, err := strconv.ParseBool(fields["disabled"]); err != nil || !off {
			return fmt.Errorf("--attest %s: attestations are not supported yet (kiln writes none); only disabled=true is accepted", v)
		}
	}
	return nil
}

// attestationOff accepts a false value ("false", "0", or mode=… with
// disabled=true); anything that asks for an attestation is refused.
func attestationOff(flag, v string) error {
	if off, err := strconv.ParseBool(v); err == nil && !off {
		return nil
	}
	if strings.Contains(v, "disabled=true") {
		return nil
	}
	return fmt.Errorf("%s=%s: attestations are not supported yet (kiln writes none); use %s=false", flag, v, flag)
}
