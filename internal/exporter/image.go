package exporter

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/kiln-build/kiln/internal/progress"
	"github.com/kiln-build/kiln/internal/registry"
)

// storeImage is type=image: the result named in the store (name=, else the
// -t names), and pushed with push=true (type=registry). With
// push-by-digest=true the push names the manifest by its digest only, no
// tag, as BuildKit's does for a fan-out over nodes; name-canonical=true
// adds name@digest to the store's names.
type storeImage struct {
	line string
	out  Output
}

func (e storeImage) Name() string { return e.line }

func (e storeImage) Export(ctx context.Context, s Session, r Result) error {
	names := e.names(r)
	if e.byDigest() {
		if err := checkByDigestNames(strings.Join(names, ",")); err != nil {
			return err
		}
	}
	desc, err := r.descFor(e.form(r))
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := s.Store.Tag(n, desc); err != nil {
			return err
		}
		if e.attr("name-canonical") && !strings.Contains(n, "@") {
			if err := s.Store.Tag(n+"@"+desc.Digest.String(), desc); err != nil {
				return err
			}
		}
		if !e.attr("push") {
			continue
		}
		if e.byDigest() {
			_, err = s.Registry.PushByDigest(ctx, s.Store, desc, n)
		} else {
			err = s.Registry.Push(ctx, s.Store, desc, n)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// form is what this output carries: with push=true, a registry's
// attestations.
func (e storeImage) form(r Result) Form {
	typ := "image"
	if e.attr("push") {
		typ = "registry"
	}
	return Form{Type: typ, Names: e.names(r), Legacy: e.out.Attrs["oci-artifact"] == "false"}
}

// names are name= (comma-separated), else the -t names.
func (e storeImage) names(r Result) []string {
	if n := e.out.Attrs["name"]; n != "" {
		return strings.Split(n, ",")
	}
	return r.Tags
}

func (e storeImage) attr(k string) bool { return e.out.Attrs[k] == "true" }
func (e storeImage) byDigest() bool     { return e.attr("push-by-digest") }

// checkByDigestNames refuses, as BuildKit does, a push-by-digest name that
// already has a tag or digest: the pushed manifest is named by its digest.
func checkByDigestNames(names string) error {
	if names == "" {
		return nil
	}
	for _, n := range strings.Split(names, ",") {
		ref, err := name.ParseReference(n)
		if err != nil {
			return fmt.Errorf("output name %q: %w", n, err)
		}
		last := n[strings.LastIndex(n, "/")+1:]
		if strings.Contains(n, "@") || strings.Contains(last, ":") {
			return fmt.Errorf("output type=image: push-by-digest=true can't push tagged ref %s: give the repository only (name=%s)", n, ref.Context().Name())
		}
	}
	return nil
}

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
