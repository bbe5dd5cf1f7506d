package exporter

import (
	"context"
	"strings"

	"github.com/kiln-build/kiln/internal/progress"
	"github.com/kiln-build/kiln/internal/registry"
)

// storeImage is type=image: the result named in the store (name=, else the
// -t names), and pushed with push=true (type=registry).
type storeImage struct {
	line string
	out  Output
}

func (e storeImage) Name() string { return e.line }

func (e storeImage) Export(ctx context.Context, s Session, r Result) error {
	names := r.Tags
	if n := e.out.Attrs["name"]; n != "" {
		names = strings.Split(n, ",")
	}
	typ := "image"
	if e.pushes() {
		typ = "registry"
	}
	desc, err := r.descFor(Form{Type: typ, Names: names, Legacy: e.out.Attrs["oci-artifact"] == "false"})
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := s.Store.Tag(n, desc); err != nil {
			return err
		}
		if e.pushes() {
			if err := s.Registry.Push(ctx, s.Store, desc, n); err != nil {
				return err
			}
		}
	}
	return nil
}

func (e storeImage) pushes() bool { return e.out.Attrs["push"] == "true" }

// registryPush is --push of one -t name, with its bytes on the progress line.
type registryPush struct{ name string }

func (e registryPush) Name() string { return "" } // its line counts bytes: Export starts it

func (e registryPush) Export(ctx context.Context, s Session, r Result) error {
	// buildx pushes every -t name from one image exporter: each statement
	// names them all.
	desc, err := r.descFor(Form{Type: "registry", Names: r.Tags})
	if err != nil {
		return err
	}
	v := s.Progress.Start("pushing " + e.name)
	err = s.Registry.Push(registry.WithProgress(ctx, counterOf(v)), s.Store, desc, e.name)
	v.Done(err)
	return err
}

// counterOf reports a push's bytes on its vertex.
func counterOf(v *progress.Vertex) func(int64) registry.ByteCounter {
	return func(total int64) registry.ByteCounter { return v.NewCounter(total) }
}
