package cli

import (
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// Attestation flags are accepted as buildx accepts them; a malformed value
// is a clear usage error.
func TestAttestationFlags(t *testing.T) {
	cases := []struct {
		args []string
		want string // "" for accepted
	}{
		{nil, ""},
		{[]string{"--provenance=false"}, ""},
		{[]string{"--sbom=false", "--provenance=0"}, ""},
		{[]string{"--attest", "type=provenance,disabled=true"}, ""},
		{[]string{"--provenance"}, ""},
		{[]string{"--provenance=mode=max"}, ""},
		{[]string{"--attest", "type=provenance,mode=min,version=v0.2"}, ""},
		{[]string{"--sbom=true"}, ""},
		{[]string{"--attest", "type=sbom,generator=127.0.0.1:5000/scanner:1"}, ""},
		{[]string{"--attest", "type=sbom,generator=Bad Name"}, "invalid generator"},
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
		_, err := a.parse(nil)
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%v: err = %v, want %q", c.args, err, c.want)
		}
	}
}
