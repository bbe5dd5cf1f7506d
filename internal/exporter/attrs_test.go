package exporter

import (
	"slices"
	"strings"
	"testing"
)

// attrSamples gives, for every row of OutputAttrs, a value kiln uses and
// one it refuses ("" when it uses every value).
var attrSamples = map[string]struct{ used, refused string }{
	"name":                    {"r:5000/app:1", ""},
	"push":                    {"false", ""},
	"push-by-digest":          {"false", ""},
	"name-canonical":          {"true", ""},
	"registry.insecure":       {"false", "true"},
	"oci-mediatypes":          {"true", "false"},
	"oci-artifact":            {"false", "true"},
	"unpack":                  {"true", ""},
	"store":                   {"true", "false"},
	"dangling-name-prefix":    {"", "dangling"},
	"danging-name-empty-only": {"", "true"},
	"compression":             {"zstd", "estargz"},
	"compression-level":       {"3", ""},
	"force-compression":       {"false", "true"},
	"rewrite-timestamp":       {"false", "true"},
	"source-date-epoch":       {"", "0"},
	"attestation-inline":      {"", "true"},
	"prefer-nondist-layers":   {"false", "true"},
	"tar":                     {"true", "maybe"},
	"mode":                    {"copy", "delete"},
	"src":                     {"", "/app/reports"},
	"platform-split":          {"true", "false"},
	"attestation-prefix":      {"", "att-"},
}

// TestOutputAttrTable tests every row of the -o attribute table, for every
// output type: the used value is accepted where the attribute applies, the
// refused one fails with "not supported", and elsewhere the attribute is
// an error naming the types it belongs to.
func TestOutputAttrTable(t *testing.T) {
	for k := range OutputAttrs {
		if _, ok := attrSamples[k]; !ok {
			t.Errorf("attribute %q has no test row", k)
		}
	}
	for k, sample := range attrSamples {
		a, ok := OutputAttrs[k]
		if !ok {
			t.Errorf("test row %q is not in the table", k)
			continue
		}
		for _, typ := range allTypes {
			base := "type=" + typ
			if typ != "image" {
				base += ",dest=out"
			}
			_, err := ParseOutput(base + "," + k + "=" + sample.used)
			if !slices.Contains(a.types, typ) {
				if err == nil || !strings.Contains(err.Error(), "does not apply to type="+typ) {
					t.Errorf("%s=%s on type=%s: %v, want a does-not-apply error", k, sample.used, typ, err)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s=%s on type=%s: %v, want it used", k, sample.used, typ, err)
			}
			if sample.refused == "" {
				continue
			}
			_, err = ParseOutput(base + "," + k + "=" + sample.refused)
			if err == nil || !(strings.Contains(err.Error(), "not supported") || strings.Contains(err.Error(), "want true or false")) {
				t.Errorf("%s=%s on type=%s: %v, want a not-supported error", k, sample.refused, typ, err)
			}
		}
	}
	if _, err := ParseOutput("type=oci,dest=out,compresion=zstd"); err == nil || !strings.Contains(err.Error(), `unknown output attribute "compresion"`) {
		t.Errorf("a misspelt attribute: %v", err)
	}
	if o, err := ParseOutput("type=image,name=a:1,push=1"); err != nil || o.Attrs["push"] != "true" {
		t.Errorf("push=1: %v, %v", o.Attrs, err)
	}
}
