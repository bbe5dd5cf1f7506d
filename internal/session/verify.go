package session

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/store"
)

// VerifyReproducible builds twice, the second time without the step cache,
// and fails naming the first differing file if the digests differ.
func VerifyReproducible(ctx context.Context, o Options) (*Result, error) {
	first, err := Run(ctx, o)
	if err != nil {
		return nil, err
	}
	again := o
	again.NoCache, again.requestedNoCache = true, &o.NoCache
	again.Tags, again.Outputs, again.IIDFile = nil, nil, ""
	second, err := Run(ctx, again)
	if err != nil {
		return nil, fmt.Errorf("second build for --verify-reproducible: %w", err)
	}
	if first.Bare.Digest == second.Bare.Digest {
		if first.Attested.Digest != second.Attested.Digest {
			return nil, fmt.Errorf("build is not reproducible: the image is, but its attestations are not: %s then %s",
				first.Attested.Digest, second.Attested.Digest)
		}
		return first, nil
	}
	s, err := store.Open(storeRoot(o))
	if err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("build is not reproducible: %s then %s: %s",
		first.Bare.Digest, second.Bare.Digest, firstDifference(s, first.Image, second.Image))
}

func storeRoot(o Options) string {
	if o.StoreRoot != "" {
		return o.StoreRoot
	}
	return store.DefaultRoot()
}

// firstDifference explains where two builds of one image diverge.
func firstDifference(s *store.Store, a, b *image.Image) string {
	if len(a.Layers) != len(b.Layers) {
		return fmt.Sprintf("%d layers, then %d", len(a.Layers), len(b.Layers))
	}
	for i := range a.Layers {
		if a.Layers[i].DiffID == b.Layers[i].DiffID {
			continue
		}
		ea, errA := layerEntries(s, a.Layers[i])
		eb, errB := layerEntries(s, b.Layers[i])
		if err := errors.Join(errA, errB); err != nil {
			return fmt.Sprintf("layer %d differs (%v)", i+1, err)
		}
		for j := 0; j < len(ea) && j < len(eb); j++ {
			if ea[j] != eb[j] {
				return fmt.Sprintf("layer %d (%s): first differing file %s", i+1, historyOf(a, i), ea[j].name)
			}
		}
		return fmt.Sprintf("layer %d (%s): %d entries, then %d", i+1, historyOf(a, i), len(ea), len(eb))
	}
	return "the image configs differ (layers are identical)"
}

func historyOf(img *image.Image, layer int) string {
	n := 0
	for _, h := range img.Config.History {
		if h.EmptyLayer {
			continue
		}
		if n == layer {
			return h.CreatedBy
		}
		n++
	}
	return "?"
}

type entrySum struct {
	name string
	meta string
	sum  [32]byte
}

func layerEntries(s *store.Store, l image.Layer) ([]entrySum, error) {
	f, err := s.OpenBlob(l.Digest)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := decompress(f, l.MediaType)
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(r)
	var out []entrySum
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		hash := sha256.New()
		if _, err := io.Copy(hash, tr); err != nil {
			return nil, err
		}
		e := entrySum{name: h.Name, meta: fmt.Sprintf("%c %o %d:%d %d %s", h.Typeflag, h.Mode, h.Uid, h.Gid, h.ModTime.Unix(), h.Linkname)}
		copy(e.sum[:], hash.Sum(nil))
		out = append(out, e)
	}
}

func decompress(r io.Reader, mediaType string) (io.Reader, error) {
	switch mediaType {
	case ocispec.MediaTypeImageLayerGzip, "application/vnd.docker.image.rootfs.diff.tar.gzip":
		return gzip.NewReader(r)
	case ocispec.MediaTypeImageLayerZstd:
		d, err := zstd.NewReader(r)
		if err != nil {
			return nil, err
		}
		return d.IOReadCloser(), nil
	}
	return io.MultiReader(r, bytes.NewReader(nil)), nil
}
