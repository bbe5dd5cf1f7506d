package exporter

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// outputAttr is one exporter attribute BuildKit documents (README "Output"
// and exporter/exptypes): the output types it belongs to, and what kiln
// does with it. refuse says why a value is refused ("" when kiln honours
// it); nil means every value is used.
type outputAttr struct {
	types  []string
	refuse func(typ, v string) string
}

var (
	imageTypes = []string{"image"}
	fileTypes  = []string{"oci", "docker"}
	treeTypes  = []string{"local", "tar"}
	allTypes   = []string{"image", "oci", "docker", "local", "tar"}
	imageish   = []string{"image", "oci", "docker"}
)

// refuseUnless refuses every value but ok, with why.
func refuseUnless(why string, ok ...string) func(string, string) string {
	return func(_, v string) string {
		if slices.Contains(ok, strings.ToLower(v)) {
			return ""
		}
		return why
	}
}

// OutputAttrs is the table of every attribute BuildKit documents for -o,
// each used or refused "not supported yet"; an attribute not in it is
// unknown, an error. (BuildKit ignores unknown attributes; kiln does not,
// so a typo never passes as an option.) type= and dest= are parsed apart.
var OutputAttrs = map[string]outputAttr{
	"name":                    {types: imageish},
	"push":                    {types: imageTypes},
	"push-by-digest":          {types: imageTypes}, // the manifest pushed untagged (image.go)
	"name-canonical":          {types: imageTypes}, // name@digest in the store too
	"registry.insecure":       {types: imageTypes, refuse: refuseUnless("registry.insecure=true is not supported: mark the registry insecure in kiln.toml", "false")},
	"oci-mediatypes":          {types: imageish, refuse: refuseUnless("oci-mediatypes=false is not supported yet: kiln writes OCI media types", "true")},
	"oci-artifact":            {types: imageish, refuse: refuseUnless("oci-artifact=true is not supported yet: attestations use BuildKit's default attestation manifest format", "false")},
	"unpack":                  {types: imageTypes}, // kiln's store always holds the unpacked layers
	"store":                   {types: imageTypes, refuse: refuseUnless("store=false is not supported: kiln's images live in its store", "true")},
	"dangling-name-prefix":    {types: imageTypes, refuse: refuseUnless("dangling-name-prefix is not supported yet", "")},
	"danging-name-empty-only": {types: imageTypes, refuse: refuseUnless("danging-name-empty-only is not supported yet", "")},
	"compression":             {types: imageish, refuse: refuseUnless("compression=estargz is not supported yet (gzip, zstd, uncompressed)", "gzip", "zstd", "uncompressed")},
	"compression-level":       {types: imageish},
	"force-compression":       {types: imageish, refuse: refuseUnless("force-compression=true is not supported yet (base image layers keep their compression)", "false")},
	"rewrite-timestamp":       {types: imageish, refuse: refuseUnless("rewrite-timestamp=true is not supported yet (SOURCE_DATE_EPOCH sets the times of kiln's own layers and history only)", "false")},
	"source-date-epoch":       {types: allTypes, refuse: refuseUnless("source-date-epoch= is not supported yet: use --build-arg SOURCE_DATE_EPOCH=", "")},
	"attestation-inline":      {types: imageish, refuse: refuseUnless("attestation-inline is not supported yet", "")},
	"prefer-nondist-layers":   {types: imageish, refuse: refuseUnless("prefer-nondist-layers=true is not supported yet", "false")},
	"tar":                     {types: fileTypes, refuse: tarAttr},
	"mode":                    {types: []string{"local"}, refuse: refuseUnless("mode=delete is not supported yet: kiln writes into dest= without removing what is there", "copy")},
	"src":                     {types: treeTypes, refuse: refuseUnless("src= is not supported yet: the whole image is exported", "")},
	"platform-split":          {types: treeTypes, refuse: refuseUnless("platform-split=false is not supported yet: several platforms go into one directory each", "true")},
	"attestation-prefix":      {types: treeTypes, refuse: refuseUnless("attestation-prefix is not supported yet", "")},
}

// checkOutputAttrs refuses, for an output of type typ, each attribute kiln
// does not honour and each it does not know.
func checkOutputAttrs(typ string, attrs map[string]string) error {
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		a, ok := OutputAttrs[k]
		if !ok {
			return fmt.Errorf("unknown output attribute %q for type=%s", k, typ)
		}
		if !slices.Contains(a.types, typ) {
			return fmt.Errorf("output attribute %q does not apply to type=%s (only %s)", k, typ, strings.Join(a.types, ", "))
		}
		if a.refuse != nil {
			if why := a.refuse(typ, attrs[k]); why != "" {
				return fmt.Errorf("output type=%s: %s", typ, why)
			}
		}
	}
	return nil
}

// tarAttr: tar=false writes an OCI layout directory; a docker tar has no
// directory form in kiln yet.
func tarAttr(typ, v string) string {
	switch {
	case v == "true":
		return ""
	case v == "false" && typ == "oci":
		return ""
	case v == "false":
		return "tar=false is not supported yet for type=docker (type=oci,tar=false writes a layout directory)"
	}
	return fmt.Sprintf("tar=%s: want true or false", v)
}
