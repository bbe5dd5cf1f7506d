package remotecache

import (
	"strings"
	"testing"
)

// cacheBase is a valid --cache-to of each type, to which a row is added.
var cacheBase = map[string]string{
	"registry": "type=registry,ref=127.0.0.1:5000/cache",
	"local":    "type=local,dest=/tmp/c",
	"s3":       "type=s3,bucket=b,region=r",
	"inline":   "type=inline",
}

// usedSamples are values for the attributes each type uses.
var usedSamples = map[string]string{
	"ref": "127.0.0.1:5000/other", "dest": "/tmp/d", "src": "/tmp/s",
	"bucket": "b2", "region": "eu", "endpoint_url": "http://127.0.0.1:9000", "use_path_style": "true",
	"prefix": "p/", "manifests_prefix": "m/", "blobs_prefix": "b/", "name": "main",
	"access_key_id": "k", "secret_access_key": "s", "session_token": "t", "touch_refresh": "1h",
	"upload_parallelism": "2", "disable_accept_encoding": "true", "retry_mode": "adaptive", "retry_max_attempts": "2",
}

// refusedSamples are, per refused attribute, the value kiln honours ("" if
// none) and one it refuses.
var refusedSamples = map[string]struct{ used, refused string }{
	"image-manifest":    {"true", "false"},
	"oci-mediatypes":    {"true", "false"},
	"compression":       {"", "zstd"},
	"compression-level": {"", "3"},
	"force-compression": {"false", "true"},
	"tag":               {"latest", "v2"},
	"digest":            {"", "sha256:0000000000000000000000000000000000000000000000000000000000000000"},
	"reset":             {"false", "true"},
}

// TestCacheAttrTable tests every row of the cache attribute tables for
// every type: used attributes parse, refused values fail "not supported",
// the values kiln honours anyway pass, unknown attributes are errors.
func TestCacheAttrTable(t *testing.T) {
	for typ, base := range cacheBase {
		if _, err := ParseSpec(base + ",mode=min,ignore-error=true"); err != nil {
			t.Errorf("%s: mode= and ignore-error=: %v", typ, err)
		}
		for _, k := range typeAttrs[typ] {
			v, ok := usedSamples[k]
			if !ok {
				t.Errorf("%s: attribute %q has no test row", typ, k)
				continue
			}
			if strings.Contains(base, k+"=") {
				continue // part of the base already
			}
			row := k + "=" + v
			switch k { // credentials go together
			case "access_key_id", "secret_access_key":
				row = "access_key_id=k,secret_access_key=s"
			case "session_token":
				row = "access_key_id=k,secret_access_key=s,session_token=t"
			}
			if _, err := ParseSpec(base + "," + row); err != nil {
				t.Errorf("%s: %s=%s: %v, want it used", typ, k, v, err)
			}
		}
		for k := range cacheRefusals[typ] {
			sample, ok := refusedSamples[k]
			if !ok {
				t.Errorf("%s: refused attribute %q has no test row", typ, k)
				continue
			}
			if sample.used != "" {
				if _, err := ParseSpec(base + "," + k + "=" + sample.used); err != nil {
					t.Errorf("%s: %s=%s: %v, want it accepted (kiln's own behaviour)", typ, k, sample.used, err)
				}
			}
			if _, err := ParseSpec(base + "," + k + "=" + sample.refused); err == nil || !strings.Contains(err.Error(), "not supported") {
				t.Errorf("%s: %s=%s: %v, want not supported", typ, k, sample.refused, err)
			}
		}
		if _, err := ParseSpec(base + ",compresion=zstd"); err == nil || !strings.Contains(err.Error(), "unknown cache option") {
			t.Errorf("%s: a misspelt attribute: %v", typ, err)
		}
	}
	for _, typ := range []string{"gha", "azblob"} {
		if _, err := ParseSpec("type=" + typ); err == nil || !strings.Contains(err.Error(), "not supported") {
			t.Errorf("type=%s: %v, want not supported", typ, err)
		}
	}
}
