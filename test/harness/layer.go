package harness

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// LayerEntry is one tar entry of a layer, with its content.
type LayerEntry struct {
	Header *tar.Header
	Data   []byte
}

// ReadLayer reads a layer blob (gzip, zstd or plain tar) into its entries by
// path ("/x/y"); whiteouts are entries like any other.
func ReadLayer(t testing.TB, blob string) map[string]LayerEntry {
	t.Helper()
	entries := map[string]LayerEntry{}
	err := walkLayer(blob, func(name string, hdr *tar.Header, r io.Reader) error {
		data, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		entries[name] = LayerEntry{Header: hdr, Data: data}
		return nil
	})
	if err != nil {
		t.Fatalf("layer %s: %v", blob, err)
	}
	return entries
}

// LayerEntries reads every layer of img in order and returns the entries by
// path; a later layer's entry replaces an earlier one (whiteouts are kept as
// entries, not applied: Files applies them).
func (img *Image) LayerEntries(t testing.TB) map[string]LayerEntry {
	t.Helper()
	files := map[string]LayerEntry{}
	for _, l := range img.Manifest.Layers {
		for name, e := range ReadLayer(t, img.Blob(l.Digest)) {
			files[name] = e
		}
	}
	return files
}

// walkLayer calls fn for each entry of a layer blob, in order, with its
// cleaned absolute path and a reader of its content.
func walkLayer(blob string, fn func(name string, hdr *tar.Header, r io.Reader) error) error {
	f, err := os.Open(blob)
	if err != nil {
		return err
	}
	defer f.Close()
	r, closeR, err := decompressReader(bufio.NewReader(f))
	if err != nil {
		return err
	}
	defer closeR()
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(path.Clean("/"+hdr.Name), hdr, tr); err != nil {
			return err
		}
	}
}

// decompressReader returns br gunzipped or zstd-decoded when it starts with
// their magic, else br itself.
func decompressReader(br *bufio.Reader) (io.Reader, func(), error) {
	magic, _ := br.Peek(4)
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, err
		}
		return zr, func() { zr.Close() }, nil
	case bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(br)
		if err != nil {
			return nil, nil, err
		}
		return zr, zr.Close, nil
	}
	return br, func() {}, nil
}

// Decompress returns data gunzipped or zstd-decoded when it starts with
// their magic, else data itself.
func Decompress(data []byte) ([]byte, error) {
	r, closeR, err := decompressReader(bufio.NewReader(bytes.NewReader(data)))
	if err != nil {
		return nil, err
	}
	defer closeR()
	return io.ReadAll(r)
}
