// Package exporter writes a build's result where --output, --push and
// --load ask: an OCI or docker archive, the filesystem as a directory or a
// tar, the store's image names, a registry, the docker daemon. The
// exporters are resolved once from the flags, before the build starts, so
// a bad output fails before any work; each gets a narrow Session, never
// the build's worker.
package exporter

import (
	"context"
	"fmt"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/progress"
	"github.com/kiln-build/kiln/internal/registry"
	"github.com/kiln-build/kiln/internal/snapshot"
	"github.com/kiln-build/kiln/internal/store"
)

// Exporter writes a result to one destination.
type Exporter interface {
	// Name is the progress line ("exporting to oci app.tar"); "" for none.
	Name() string
	Export(ctx context.Context, s Session, r Result) error
}

// Session is what exporters may use.
type Session struct {
	Store    *store.Store
	Epoch    time.Time // SOURCE_DATE_EPOCH, or 0: the time of written files and tar entries
	Progress *progress.Reporter
	Snap     snapshot.Snapshotter // mounts the result for filesystem outputs
	Registry *registry.Client
}

// Result is a committed build: the top descriptor in the store (a manifest,
// or an index for several platforms), each platform's image, and the -t
// names.
type Result struct {
	Desc ocispec.Descriptor
	// Manifests are each platform's manifest, with its platform (the
	// subjects of attestations).
	Manifests []ocispec.Descriptor
	Images    []*image.Image
	Tags      []string
	// Attest gives each output its form with attestations; nil: none.
	Attest Attested
	// Named is what the -t names point at in the store: Desc, or its
	// attested form (CommitOptions.StoreForm, Name).
	Named ocispec.Descriptor
}

// ResolveOptions are the flags besides --output that ask for exports.
type ResolveOptions struct {
	Tags      []string // -t
	Push      bool     // --push: every -t name
	Load      bool     // --load
	Platforms int      // how many platforms the build makes
}

// Resolve turns --output, --push and --load into exporters, in the order
// they run: the outputs as given, then the pushes, then the load.
func Resolve(outputs []Output, o ResolveOptions) ([]Exporter, error) {
	if err := checkStdout(outputs); err != nil {
		return nil, err
	}
	var out []Exporter
	for _, op := range outputs {
		e, err := resolveOutput(op, o)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	if o.Push {
		for _, t := range o.Tags {
			out = append(out, registryPush{name: t})
		}
	}
	if o.Load {
		if o.Platforms > 1 {
			return nil, fmt.Errorf("--load takes one platform; this build makes %d (use --push or -o type=oci)", o.Platforms)
		}
		out = append(out, dockerLoad{})
	}
	return out, nil
}

func resolveOutput(op Output, o ResolveOptions) (Exporter, error) {
	line := fmt.Sprintf("exporting to %s %s", op.Type, op.Dest)
	switch op.Type {
	case "oci":
		return ociArchive{line: line, out: op}, nil
	case "docker":
		return dockerArchive{line: line, out: op}, nil
	case "local":
		return localDir{line: line, dest: op.Dest}, nil
	case "tar":
		if o.Platforms > 1 {
			return nil, fmt.Errorf("output type=tar with several platforms is not supported yet; use type=local or type=oci")
		}
		return fsTar{line: line, dest: op.Dest}, nil
	case "image":
		return storeImage{line: line, out: op}, nil
	}
	return nil, fmt.Errorf("output type=%s is not supported yet", op.Type)
}

// Run runs the exporters in order, each under its progress line.
func Run(ctx context.Context, s Session, r Result, exps []Exporter) error {
	for _, e := range exps {
		var v *progress.Vertex
		if name := e.Name(); name != "" {
			v = s.Progress.Start(name)
		}
		err := e.Export(ctx, s, r)
		if v != nil {
			v.Done(err)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
