package remotecache

import (
	"fmt"

	units "github.com/docker/go-units"
	"slices"
	"strconv"
	"strings"
)

// Spec is a parsed --cache-to or --cache-from value.
type Spec struct {
	Type string // registry, local, s3 or inline (--cache-to only)
	Ref  string // registry: ref=
	Dir  string // local: dest= (export) or src= (import)
	Mode string // min (default) or max
	// IgnoreError makes a failed export a warning (ignore-error=true, as
	// BuildKit); a failed import is always one.
	IgnoreError bool
	S3          *S3Spec // type=s3
	// CacheMounts exports the RUN --mount=type=cache directories the build
	// used (cache-mounts=true, kiln's own attribute); an import restores
	// whatever mounts a cache holds, without it. MountsMaxSize bounds their
	// total size (cache-mounts-max-size=, DefaultMountsMaxSize).
	CacheMounts   bool
	MountsMaxSize int64
}

// Location names the cache in messages.
func (sp Spec) Location() string {
	switch sp.Type {
	case "s3":
		return sp.S3.String()
	case "local":
		return sp.Dir
	}
	return sp.Ref
}

// The attributes each type takes besides type=, mode= and ignore-error=.
var typeAttrs = map[string][]string{
	"registry": {"ref"},
	"local":    {"dest", "src"},
	"inline":   {},
	"s3":       s3Attrs,
}

// cacheRefusals are the attributes BuildKit documents for a cache type
// that kiln does not honour (beyond typeAttrs, mode= and ignore-error=):
// each value is refused "not supported yet" unless it is what kiln does
// anyway. Unknown attributes stay errors, so a valid buildx command line
// is never rejected as unknown and a typo never passes.
var cacheRefusals = map[string]map[string]func(v string) string{
	"registry": {
		"image-manifest":    onlyValue("image-manifest=false is not supported yet: kiln writes the cache as an OCI image manifest", "true"),
		"oci-mediatypes":    onlyValue("oci-mediatypes=false is not supported yet: kiln writes OCI media types", "true"),
		"compression":       onlyValue("compression= is not supported yet for caches: cache layers are the build's own layers, compressed as -o compression= says"),
		"compression-level": onlyValue("compression-level= is not supported yet for caches (see -o compression-level=)"),
		"force-compression": onlyValue("force-compression=true is not supported yet", "false"),
	},
	"local": {
		"image-manifest":    onlyValue("image-manifest=false is not supported yet: kiln writes the cache as an OCI image manifest", "true"),
		"oci-mediatypes":    onlyValue("oci-mediatypes=false is not supported yet: kiln writes OCI media types", "true"),
		"compression":       onlyValue("compression= is not supported yet for caches: cache layers are the build's own layers, compressed as -o compression= says"),
		"compression-level": onlyValue("compression-level= is not supported yet for caches (see -o compression-level=)"),
		"force-compression": onlyValue("force-compression=true is not supported yet", "false"),
		"tag":               onlyValue("tag= is not supported yet: the cache is index.json's last manifest", "latest"),
		"digest":            onlyValue("digest= is not supported yet: the cache is index.json's last manifest"),
		"reset":             onlyValue("reset=true is not supported yet: blobs of earlier exports stay in the directory", "false"),
	},
	"s3": {
		"compression":       onlyValue("compression= is not supported yet for caches: cache layers are the build's own layers, compressed as -o compression= says"),
		"compression-level": onlyValue("compression-level= is not supported yet for caches (see -o compression-level=)"),
		"force-compression": onlyValue("force-compression=true is not supported yet", "false"),
	},
}

// onlyValue refuses every value but ok with why.
func onlyValue(why string, ok ...string) func(string) string {
	return func(v string) string {
		if slices.Contains(ok, strings.ToLower(v)) {
			return ""
		}
		return why
	}
}

func isRefusable(typ, k string) bool {
	_, ok := cacheRefusals[typ][k]
	return ok
}

// refusedAttr says why kiln refuses k=v for a cache of type typ, or "".
func refusedAttr(typ, k, v string) string {
	if f, ok := cacheRefusals[typ][k]; ok {
		return f(v)
	}
	return ""
}

// ParseSpec reads buildx's CSV form: type=registry,ref=R[,mode=max],
// type=local,dest=DIR / type=local,src=DIR, type=s3,bucket=B,region=R,…
// (BuildKit's attributes, see parseS3), or type=inline (the cache goes into
// the image itself; mode=min only, as BuildKit). An attribute the type does
// not take is an error, never ignored.
func ParseSpec(s string) (Spec, error) {
	attrs, err := splitAttrs(s)
	if err != nil {
		return Spec{}, err
	}
	sp := Spec{Type: attrs["type"], Mode: "min", MountsMaxSize: DefaultMountsMaxSize}
	known, ok := typeAttrs[sp.Type]
	if !ok {
		return sp, fmt.Errorf("cache type=%s is not supported (registry, local, s3, inline)", sp.Type)
	}
	for k, v := range attrs {
		switch {
		case k == "type":
		case k == "mode":
			if v != "min" && v != "max" {
				return sp, fmt.Errorf("cache mode=%s: want min or max", v)
			}
			sp.Mode = v
		case k == "ignore-error":
			if sp.IgnoreError, err = strconv.ParseBool(v); err != nil {
				return sp, fmt.Errorf("cache ignore-error=%s: want true or false", v)
			}
		case k == "cache-mounts" || k == "cache-mounts-max-size":
			if err := parseMountAttr(&sp, k, v); err != nil {
				return sp, err
			}
		case sp.Type == "inline" && slices.Contains([]string{"ref", "dest", "src"}, k):
			return sp, fmt.Errorf("cache type=inline takes no ref=, dest= or src=: the cache goes into the image (read it with type=registry,ref=IMAGE)")
		case refusedAttr(sp.Type, k, v) != "":
			return sp, fmt.Errorf("cache type=%s: %s", sp.Type, refusedAttr(sp.Type, k, v))
		case isRefusable(sp.Type, k):
			// documented by BuildKit, and this value is kiln's own behaviour
		case !slices.Contains(known, k):
			return sp, fmt.Errorf("unknown cache option %q for type=%s", k, sp.Type)
		}
	}
	switch sp.Type {
	case "registry":
		sp.Ref = attrs["ref"]
		if sp.Ref == "" {
			return sp, fmt.Errorf("cache type=registry needs ref=")
		}
	case "local":
		if sp.Dir = attrs["dest"]; sp.Dir == "" {
			sp.Dir = attrs["src"]
		}
		if sp.Dir == "" {
			return sp, fmt.Errorf("cache type=local needs dest= or src=")
		}
	case "s3":
		if sp.S3, err = parseS3(attrs); err != nil {
			return sp, err
		}
	case "inline":
		if sp.Mode == "max" {
			return sp, fmt.Errorf("cache type=inline supports only mode=min (as BuildKit): for mode=max use type=registry, type=local or type=s3")
		}
	}
	return sp, nil
}

// parseMountAttr reads cache-mounts= and cache-mounts-max-size= (bytes, or
// with a unit: 512m, 2g). An inline cache lives in an image config and
// cannot carry them.
func parseMountAttr(sp *Spec, k, v string) error {
	if sp.Type == "inline" {
		return fmt.Errorf("cache type=inline cannot carry cache mounts (%s=): use type=registry, local or s3", k)
	}
	var err error
	if k == "cache-mounts" {
		if sp.CacheMounts, err = strconv.ParseBool(v); err != nil {
			return fmt.Errorf("cache cache-mounts=%s: want true or false", v)
		}
		return nil
	}
	if sp.MountsMaxSize, err = units.RAMInBytes(v); err != nil || sp.MountsMaxSize <= 0 {
		return fmt.Errorf("cache cache-mounts-max-size=%s: want a size such as 2g or 512m", v)
	}
	return nil
}

// splitAttrs splits key=value,… into a map; a key given twice is an error.
func splitAttrs(s string) (map[string]string, error) {
	attrs := map[string]string{}
	for _, field := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(field, "=")
		if !ok {
			return nil, fmt.Errorf("invalid cache option %q: want key=value", field)
		}
		if _, dup := attrs[k]; dup {
			return nil, fmt.Errorf("cache option %q is given twice", k)
		}
		attrs[k] = v
	}
	return attrs, nil
}
