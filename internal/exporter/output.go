package exporter

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/kiln-build/kiln/internal/layer"
)

// Output is one parsed --output / -o value.
type Output struct {
	Type  string // oci, local, tar, image
	Dest  string
	Attrs map[string]string
	// Annotations from annotation.* attributes; kiln makes one image for
	// every output, so they apply to all of them.
	Annotations []Annotation
}

// ParseOutput reads buildx's CSV form: type=oci,dest=app.tar[,tar=false].
// A bare path means type=local,dest=path, as in buildx.
func ParseOutput(s string) (Output, error) {
	o := Output{Attrs: map[string]string{}}
	if !strings.Contains(s, "=") {
		return Output{Type: "local", Dest: s, Attrs: o.Attrs}, nil
	}
	for _, field := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(field, "=")
		if !ok {
			return o, fmt.Errorf("invalid output field %q: want key=value", field)
		}
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "type":
			o.Type = v
		case "dest":
			o.Dest = v
		default:
			if a, isAnnotation, err := outputAnnotation(k, v); isAnnotation {
				if err != nil {
					return o, err
				}
				o.Annotations = append(o.Annotations, a)
				continue
			}
			o.Attrs[strings.ToLower(k)] = v
		}
	}
	switch o.Type {
	case "oci", "docker", "local", "tar":
		if o.Dest == "" {
			return o, fmt.Errorf("output type=%s needs dest=", o.Type)
		}
	case "image":
	case "registry": // buildx's shorthand for type=image,push=true
		o.Type, o.Attrs["push"] = "image", "true"
	case "":
		return o, fmt.Errorf("output %q has no type=", s)
	default:
		return o, fmt.Errorf("output type=%s is not supported yet (oci, docker, local, tar, image, registry)", o.Type)
	}
	if err := checkOutputAttrs(o.Type, o.Attrs); err != nil {
		return o, err
	}
	if err := checkExporterAttrs(o.Attrs); err != nil {
		return o, err
	}
	for _, k := range []string{"push", "push-by-digest", "name-canonical"} {
		if v, ok := o.Attrs[k]; ok {
			b, _ := strconv.ParseBool(v) // checked above
			o.Attrs[k] = strconv.FormatBool(b)
		}
	}
	if o.Attrs["push-by-digest"] == "true" {
		if err := checkByDigestNames(o.Attrs["name"]); err != nil {
			return o, err
		}
	}
	return o, nil
}

// checkExporterAttrs checks the values of the attributes kiln uses (the
// table in attrs.go refuses those it does not).
func checkExporterAttrs(attrs map[string]string) error {
	if v := attrs["compression-level"]; v != "" {
		if _, err := strconv.Atoi(v); err != nil {
			return fmt.Errorf("invalid compression-level=%s", v)
		}
	}
	for _, k := range []string{"push", "unpack", "push-by-digest", "name-canonical"} {
		if v, ok := attrs[k]; ok {
			if _, err := strconv.ParseBool(v); err != nil {
				return fmt.Errorf("invalid %s=%s: want true or false", k, v)
			}
		}
	}
	return nil
}

// LayerCompression is the compression the outputs ask for (the first that
// names one), as buildx's exporters take it.
func LayerCompression(outs []Output) (layer.Compression, int) {
	for _, o := range outs {
		if c := o.Attrs["compression"]; c != "" {
			level, _ := strconv.Atoi(o.Attrs["compression-level"])
			return layer.Compression(c), level
		}
	}
	return layer.Gzip, 0
}
