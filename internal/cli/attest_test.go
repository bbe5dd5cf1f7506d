package cli

import (
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// Turning attestations off is accepted as buildx accepts it; asking for
// one is a clear usage error.
func TestAttestationFlags(t *testing.T) {
	cases := []struct {
		args []string
		ok   bool
	}{
		{nil, true},
		{[]string{"--provenance=false"}, true},
		{[]string{"--sbom=false", "--provenance=0"}, true},
		{[]string{"--attest", "type=provenance,disabled=true"}, true},
		{[]string{"--provenance"}, false},
		{[]string{"--provenance=mode=max"}, false},
		{[]string{"--sbom=true"}, false},
		{[]string{"--attest", "type=sbom"}, false},
	}
	for _, c := range cases {
		var a attestFlags
		fl := pflag.NewFlagSet("build", pflag.ContinueOnError)
		a.register(fl)
		if err := fl.Parse(c.args); err != nil {
			t.Fatalf("%v: %v", c.args, err)
		}
		err := a.check()
		if (err == nil) != c.ok {
			t.Errorf("%v: err = %v, want ok %v", c.args, err, c.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "not supported yet") {
			t.Errorf("%v: unclear error %v", c.args, err)
		}
	}
}
