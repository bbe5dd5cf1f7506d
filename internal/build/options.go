// Package build runs one `kiln build`: load the context, parse and plan the
// Dockerfile, solve the stages, then export the image where asked.
package build

import (
	"fmt"
	"github.com/kiln-build/kiln/internal/instr"
	"io"
	"strings"
)

// Options are the build's inputs, as the CLI parsed them.
type Options struct {
	ContextDir string
	Dockerfile string // -f; "" means <context>/Dockerfile
	Tags       []string
	Target     string
	BuildArgs  map[string]string
	Labels     map[string]string
	Secrets    map[string][]byte // --secret id → value
	Outputs    []Output
	Progress   string // plain, quiet, auto
	NoCache    bool
	NoCacheFor []string // --no-cache-filter stages
	Explain    bool     // --explain-cache
	Network    string
	Run        instr.RunOptions // --add-host, --shm-size, --ulimit
	IIDFile    string
	Quiet      bool
	StoreRoot  string
	ConfigPath string            // --config kiln.toml
	Platforms  []string          // --platform values; none means this machine's
	Contexts   map[string]string // --build-context name → docker-image://REF or an absolute directory
	Pull       bool              // --pull: refresh base images from their registries
	Push       bool              // --push: push every -t name
	Out        io.Writer         // progress
}

// Output is one parsed --output / -o value.
type Output struct {
	Type  string // oci, local, tar, image
	Dest  string
	Attrs map[string]string
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
			o.Attrs[strings.ToLower(k)] = v
		}
	}
	switch o.Type {
	case "oci", "docker", "local", "tar":
		if o.Dest == "" {
			return o, fmt.Errorf("output type=%s needs dest=", o.Type)
		}
	case "image":
	case "":
		return o, fmt.Errorf("output %q has no type=", s)
	default:
		return o, fmt.Errorf("output type=%s is not supported yet (oci, docker, local, tar, image)", o.Type)
	}
	return o, nil
}
