package layer

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"testing"

	"github.com/klauspost/compress/gzip"
)

// fuzzCanary is an absolute path outside every sandbox that seeds point at.
const fuzzCanary = "/tmp/kiln-layer-fuzz-canary"

func FuzzUnpack(f *testing.F) {
	if os.Geteuid() != 0 {
		f.Skip("needs root")
	}
	dev := tarEntry{hdr: tar.Header{Name: "dev/null", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3}}
	seeds := [][]tarEntry{
		{dirEntry("d/"), reg("d/f", "hello"), hardlink("d/h", "d/f"), symlink("d/s", "f")},
		{reg("../evil", "x"), reg("/abs", "y")},
		{symlink("a", fuzzCanary), reg("a/x", "escape?")},
		{symlink("a", "../../.."), dirEntry("a/b/"), reg("a/b/c", "")},
		{hardlink("h", "../../etc/passwd"), symlink("l", "/etc"), hardlink("k", "l/passwd")},
		{reg(".wh.gone", ""), dirEntry("o/"), reg("o/.wh..wh..opq", ""), dev},
		{symlink("w", fuzzCanary), reg(".wh.w", ""), symlink("o", fuzzCanary), reg("o/.wh..wh..opq", "")},
	}
	for _, s := range seeds {
		blob := makeTar(f, s...)
		f.Add(blob)
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		_, _ = zw.Write(blob)
		_ = zw.Close()
		f.Add(gz.Bytes())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s := newSandbox(t)
		_, _ = Unpack(context.Background(), bytes.NewReader(data), s.root)
		s.assertConfined(t)
		if _, err := os.Lstat(fuzzCanary); err == nil {
			t.Fatalf("unpack created %s", fuzzCanary)
		}
	})
}
