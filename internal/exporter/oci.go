package exporter

import (
	"context"
	"os"
	"strings"

	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/store"
)

// ociArchive is type=oci: an OCI layout, as a tar (or a directory with
// tar=false).
type ociArchive struct {
	line string
	out  Output
}

func (e ociArchive) Name() string { return e.line }

func (e ociArchive) Export(_ context.Context, s Session, r Result) error {
	name := nameOf(r.Tags, e.out.Attrs)
	var names []string
	if name != "" {
		names = []string{name}
	}
	desc, err := r.descFor(Form{Type: "oci", Names: names, Legacy: e.out.Attrs["oci-artifact"] == "false"})
	if err != nil {
		return err
	}
	named := []image.Named{{Name: name, Descriptor: desc}}
	if e.out.Attrs["tar"] == "false" {
		return image.WriteOCIDir(e.out.Dest, s.Store, named)
	}
	return writeFileAtomic(e.out.Dest, func(f *os.File) error {
		return image.WriteOCITar(f, s.Store, named, s.Epoch)
	})
}

// dockerArchive is type=docker: a tar `docker load` reads.
type dockerArchive struct {
	line string
	out  Output
}

func (e dockerArchive) Name() string { return e.line }

func (e dockerArchive) Export(_ context.Context, s Session, r Result) error {
	r.warnDropped(s, Form{Type: "docker"})
	named := image.Named{Name: nameOf(r.Tags, e.out.Attrs), Descriptor: r.Desc}
	return writeFileAtomic(e.out.Dest, func(f *os.File) error {
		return image.WriteDockerTar(f, s.Store, named, dockerTags(r.Tags, e.out.Attrs), s.Epoch)
	})
}

// nameOf is the output's name=, else the first tag in full form: an
// export's image name.
func nameOf(tags []string, attrs map[string]string) string {
	if n := attrs["name"]; n != "" {
		return n
	}
	if len(tags) == 0 {
		return ""
	}
	c, err := store.CanonicalName(tags[0])
	if err != nil {
		return tags[0]
	}
	return store.FullName(c)
}

// dockerTags are the RepoTags of a docker tar: the image names, short form.
func dockerTags(tags []string, attrs map[string]string) []string {
	names := tags
	if n := attrs["name"]; n != "" {
		names = strings.Split(n, ",")
	}
	var out []string
	for _, n := range names {
		if c, err := store.CanonicalName(n); err == nil {
			out = append(out, store.FamiliarName(c))
		}
	}
	return out
}
