package cli

import (
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// Turning attestations off is accepted as buildx accepts it; asking for
// one is a clear usage error, and so is a malformed value.
func TestAttestationFlags(t *testing.T) {
	cases := []struct {
		args []string
		want string // "" for accepted
	}{
		{nil, ""},
		{[]string{"--provenance=false"}, ""},
		{[]string{"--sbom=false", "--provenance=0"}, ""},
		{[]string{"--attest", "type=provenance,disabled=true"}, ""},
		{[]string{"--provenance"}, "not supported yet"},
		{[]string{"--provenance=mode=max"}, "not supported yet"},
		{[]string{"--sbom=true"}, "not supported yet"},
		{[]string{"--attest", "type=sbom"}, "not supported yet"},
		{[]string{"--attest", "type=provenance,mode=fast"}, `invalid mode "fast"`},
		{[]string{"--attest", "disabled=true"}, "attestation type not specified"},
	}
	for _, c := range cases {
		var a attestFlags
		fl := pflag.NewFlagSet("build", pflag.ContinueOnError)
		a.register(fl)
		if err := fl.Parse(c.args); err != nil {
			t.Fatalf("%v: %v", c.args, err)
		}
		err := a.check()
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%v: err = %v, want %q", c.args, err, c.want)
		}
	}
}
