package session

import (
	"context"
	"fmt"
	"os"

	"github.com/kiln-build/kiln/internal/exporter"
	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/instr"
	"github.com/kiln-build/kiln/internal/progress"
	"github.com/kiln-build/kiln/internal/registry"
)

// finishing is what finish needs besides the images.
type finishing struct {
	o         Options
	w         *instr.Worker
	client    *registry.Client
	exporters []exporter.Exporter // resolved before the build (exporter.Resolve)
}

// finish commits the image (or index) to the store, tags it, writes the
// requested outputs, the metadata and iid files, and the summary.
func finish(ctx context.Context, f finishing, images []*image.Image) (*Result, error) {
	o, w := f.o, f.w
	session := exporter.Session{Store: w.Store, Epoch: w.Epoch, Progress: w.Progress, Snap: w.Snap, Registry: f.client}
	r, err := exporter.Commit(session, images, exporter.CommitOptions{
		Labels: o.Labels, Annotations: o.Annotations, Tags: o.Tags, Inline: inlineCache(w, o.CacheTo),
	})
	if err != nil {
		return nil, err
	}
	if err := exporter.Run(ctx, session, r, f.exporters); err != nil {
		return nil, err
	}
	if o.MetadataFile != "" {
		if err := writeMetadata(o.MetadataFile, o.Tags, r.Desc); err != nil {
			return nil, err
		}
	}
	if o.IIDFile != "" {
		if err := os.WriteFile(o.IIDFile, []byte(r.Desc.Digest.String()), 0o644); err != nil {
			return nil, fmt.Errorf("writing --iidfile: %w", err)
		}
	}
	summarize(w, r)
	return &Result{Descriptor: r.Desc, Image: images[0], Images: images}, nil
}

func summarize(w *instr.Worker, r exporter.Result) {
	var size int64
	layers := 0
	for _, img := range r.Images {
		layers += len(img.Layers)
		for _, l := range img.Layers {
			size += l.Size
		}
	}
	name := ""
	if len(r.Tags) > 0 {
		name = r.Tags[0]
	}
	w.Progress.Finish(progress.Summary{Image: name, Digest: r.Desc.Digest.String(), Size: size, Layers: layers})
}
