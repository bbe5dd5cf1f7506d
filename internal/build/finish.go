package build

import (
	"context"
	"fmt"
	"os"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-build/kiln/internal/exporter"
	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/instr"
	"github.com/kiln-build/kiln/internal/progress"
	"github.com/kiln-build/kiln/internal/registry"
	"github.com/kiln-build/kiln/internal/testhook"
)

// built is the build's result as exports see it: the top descriptor (a
// manifest, or an index for several platforms) and each platform's image.
type built struct {
	desc      ocispec.Descriptor
	images    []*image.Image
	manifests []ocispec.Descriptor
}

// finishing is what finish needs besides the images.
type finishing struct {
	o         Options
	env       *instr.Env
	client    *registry.Client
	exporters []exporter.Exporter // resolved before the build (exporter.Resolve)
}

// finish stamps the final configs, commits the image (or index) to the
// store, tags it and writes the requested outputs.
func finish(ctx context.Context, f finishing, images []*image.Image) (*Result, error) {
	o, env, client := f.o, f.env, f.client
	b := built{images: images}
	for _, img := range images {
		stamp(img, env, o.Labels)
		p := img.Config.Platform
		img.Annotations = exporter.AnnotationsFor(o.Annotations, "manifest", &p)
		desc, err := image.Commit(env.Store, img)
		if err != nil {
			return nil, err
		}
		if desc, err = embedInlineCache(env, o.CacheTo, desc); err != nil {
			return nil, err
		}
		desc.Annotations = exporter.AnnotationsFor(o.Annotations, "manifest-descriptor", &p)
		b.manifests = append(b.manifests, desc)
	}
	testhook.Point(testhook.Export) // the image is stored, not yet tagged
	b.desc = b.manifests[0]
	if ann := exporter.AnnotationsFor(o.Annotations, "index", nil); ann != nil && len(images) == 1 {
		return nil, fmt.Errorf("index annotations need a multi-platform build (a single platform makes no index)")
	}
	if len(images) > 1 {
		idx, err := image.CommitAnnotatedIndex(env.Store, b.manifests, exporter.AnnotationsFor(o.Annotations, "index", nil))
		if err != nil {
			return nil, err
		}
		b.desc = idx
	}
	for _, t := range o.Tags {
		if err := env.Store.Tag(t, b.desc); err != nil {
			return nil, fmt.Errorf("tagging %s: %w", t, err)
		}
	}
	testhook.Point(testhook.Export)
	session := exporter.Session{Store: env.Store, Epoch: env.Epoch, Progress: env.Progress, Snap: env.Snap, Registry: client}
	if err := exporter.Run(ctx, session, exporter.Result{Desc: b.desc, Images: b.images, Tags: o.Tags}, f.exporters); err != nil {
		return nil, err
	}
	if o.MetadataFile != "" {
		if err := writeMetadata(o.MetadataFile, o.Tags, b); err != nil {
			return nil, err
		}
	}
	if o.IIDFile != "" {
		if err := os.WriteFile(o.IIDFile, []byte(b.desc.Digest.String()), 0o644); err != nil {
			return nil, fmt.Errorf("writing --iidfile: %w", err)
		}
	}
	summarize(env, o.Tags, b)
	return &Result{Descriptor: b.desc, Image: images[0], Images: images}, nil
}

func stamp(img *image.Image, env *instr.Env, labels map[string]string) {
	created := env.Epoch
	img.Config.Created = &created
	if len(labels) == 0 {
		return
	}
	if img.Config.Config.Labels == nil {
		img.Config.Config.Labels = map[string]string{}
	}
	for k, v := range labels {
		img.Config.Config.Labels[k] = v
	}
}

func summarize(env *instr.Env, tags []string, b built) {
	var size int64
	layers := 0
	for _, img := range b.images {
		layers += len(img.Layers)
		for _, l := range img.Layers {
			size += l.Size
		}
	}
	name := ""
	if len(tags) > 0 {
		name = tags[0]
	}
	env.Progress.Finish(progress.Summary{Image: name, Digest: b.desc.Digest.String(), Size: size, Layers: layers})
}
