package remotecache

import (
	"bytes"
	"context"
	"fmt"
	"github.com/kiln-build/kiln/internal/testutil"
	"reflect"
	"strings"
	"testing"
	"time"

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/store"
)

func testLayer(n int) image.Layer {
	return image.Layer{
		Digest:    digest.FromString(fmt.Sprintf("blob %d", n)),
		DiffID:    digest.FromString(fmt.Sprintf("tar %d", n)),
		Size:      int64(100 + n),
		MediaType: ocispec.MediaTypeImageLayerGzip,
	}
}

func key(s string) digest.Digest { return digest.FromString(s) }

func descriptors(layers []image.Layer) []ocispec.Descriptor {
	var out []ocispec.Descriptor
	for _, l := range layers {
		out = append(out, ocispec.Descriptor{MediaType: l.MediaType, Digest: l.Digest, Size: l.Size})
	}
	return out
}

func configWith(t *testing.T, layers []image.Layer, cache []byte) []byte {
	t.Helper()
	var ids []string
	for _, l := range layers {
		ids = append(ids, `"`+l.DiffID.String()+`"`)
	}
	cfg := `{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[` + strings.Join(ids, ",") + `]}}`
	if cache == nil {
		return []byte(cfg)
	}
	out, err := spliceField([]byte(cfg), InlineKey, cache)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// The entries of the image's layers and the layerless steps survive the
// round trip; a layer the image does not carry (a builder stage's) and the
// source memos are left out; the order is the keys'.
func TestInlineRoundTrip(t *testing.T) {
	base, l1, l2, builder := testLayer(0), testLayer(1), testLayer(2), testLayer(3)
	layers := []image.Layer{base, l1, l2}
	entries := []Entry{
		{Key: key("copy"), Layer: &l2},
		{Key: key("workdir")},
		{Key: key("run"), Layer: &l1},
		{Key: key("builder run"), Layer: &builder},
		{Key: key("memo"), Content: key("content")},
		{Key: key("copy"), Layer: &l2}, // recorded twice (another platform)
	}
	enc, err := EncodeInline(entries, layers)
	if err != nil {
		t.Fatal(err)
	}
	// Reordering the log gives the same bytes.
	rev := append([]Entry(nil), entries...)
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	if enc2, _ := EncodeInline(rev, layers); !bytes.Equal(enc, enc2) {
		t.Fatalf("encoding depends on the log's order:\n%s\n%s", enc, enc2)
	}
	got, ok, err := DecodeInline(configWith(t, layers, enc), descriptors(layers))
	if err != nil || !ok {
		t.Fatalf("decode: ok=%v err=%v", ok, err)
	}
	want := map[digest.Digest]Entry{
		key("copy"):    {Key: key("copy"), Layer: &l2},
		key("workdir"): {Key: key("workdir")},
		key("run"):     {Key: key("run"), Layer: &l1},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d entries, want %d: %s", len(got), len(want), enc)
	}
	for i, e := range got {
		if !reflect.DeepEqual(e, want[e.Key]) {
			t.Errorf("entry %s: got %+v, want %+v", e.Key, e, want[e.Key])
		}
		if i > 0 && got[i-1].Key >= e.Key {
			t.Errorf("entries not sorted by key")
		}
	}
	// Layers are indexes into the image's own layers, never descriptors.
	if bytes.Contains(enc, []byte(l1.Digest.String())) || bytes.Contains(enc, []byte(builder.Digest.String())) {
		t.Fatalf("the encoding names a layer digest: %s", enc)
	}
}

func TestInlineDecodeNone(t *testing.T) {
	layers := []image.Layer{testLayer(0)}
	if _, ok, err := DecodeInline(configWith(t, layers, nil), descriptors(layers)); ok || err != nil {
		t.Fatalf("a config without an inline cache: ok=%v err=%v", ok, err)
	}
}

func TestInlineDecodeRejectsForeignLayer(t *testing.T) {
	layers := []image.Layer{testLayer(0)}
	for _, bad := range []string{`{"entries":[{"key":"` + key("x").String() + `","layer":1}]}`, `{"entries":[{"key":"sha256:nope"}]}`} {
		if _, _, err := DecodeInline(configWith(t, layers, []byte(bad)), descriptors(layers)); err == nil {
			t.Errorf("%s: want an error", bad)
		}
	}
}

func TestSpliceField(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"a":1}`, `{"a":1,"k":{"v":2}}`},
		{"{}\n", `{"k":{"v":2}}`},
		{`{ "a" : [1] } `, `{ "a" : [1],"k":{"v":2}}`},
	} {
		got, err := spliceField([]byte(tc.in), "k", []byte(`{"v":2}`))
		if err != nil || string(got) != tc.want {
			t.Errorf("splice %q: got %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	if _, err := spliceField([]byte(`{"k":1}`), "k", []byte(`2`)); err == nil {
		t.Error("splicing a field the object has: want an error")
	}
}

// EmbedInline changes the config only by the added field and the manifest
// only by its config descriptor; newSource reads the result back, as
// --cache-from type=registry,ref=IMAGE does.
func TestEmbedInlineAndImport(t *testing.T) {
	s, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	img := image.New(ocispec.Platform{OS: "linux", Architecture: "amd64"})
	l1, l2 := testLayer(1), testLayer(2)
	img.AddLayer(&l1, "RUN one", time.Unix(0, 0))
	img.AddLayer(&l2, "RUN two", time.Unix(0, 0))
	plain, err := image.Commit(s, img)
	if err != nil {
		t.Fatal(err)
	}
	entries := []Entry{{Key: key("one"), Layer: &l1}, {Key: key("two"), Layer: &l2}, {Key: key("env")}}
	inline, err := EmbedInline(s, plain, entries)
	if err != nil {
		t.Fatal(err)
	}
	if inline.Digest == plain.Digest || inline.Platform == nil {
		t.Fatalf("embedded descriptor %+v", inline)
	}
	pm, pc := testutil.ManifestAndConfig(t, s, plain.Digest)
	im, ic := testutil.ManifestAndConfig(t, s, inline.Digest)
	enc, _ := EncodeInline(entries, img.Layers)
	if want := append(append(append(pc[:len(pc)-1:len(pc)-1], `,"kiln.cache.v1":`...), enc...), '}'); !bytes.Equal(ic, want) {
		t.Fatalf("config:\n%s\nwant\n%s", ic, want)
	}
	inlineConfig := im.Config.Digest
	im.Config = pm.Config
	if !reflect.DeepEqual(im, pm) {
		t.Fatalf("manifests differ beyond the config: %+v / %+v", im, pm)
	}

	var fetched []digest.Digest
	fetch := func(_ context.Context, d ocispec.Descriptor) error {
		fetched = append(fetched, d.Digest)
		return nil
	}
	src, err := newSource(context.Background(), s, inline, fetch, fetch)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		l, ok := src.Lookup(e.Key)
		if !ok || !reflect.DeepEqual(l, e.Layer) {
			t.Errorf("lookup %s: %+v %v, want %+v", e.Key, l, ok, e.Layer)
		}
	}
	if !src.Has(l2) || src.Has(testLayer(3)) {
		t.Error("Has answers wrong")
	}
	if len(fetched) != 1 || fetched[0] != inlineConfig {
		t.Errorf("import fetched %v, want only the config", fetched)
	}

	// An index of such images: each platform's entries.
	idx, err := image.CommitIndex(s, []ocispec.Descriptor{inline})
	if err != nil {
		t.Fatal(err)
	}
	if src, err = newSource(context.Background(), s, idx, fetch, fetch); err != nil {
		t.Fatal(err)
	}
	if _, ok := src.Lookup(key("env")); !ok {
		t.Error("index: the layerless entry is missing")
	}

	// An image without an inline cache is no cache (a warning in the build).
	if _, err := newSource(context.Background(), s, plain, fetch, fetch); err == nil || !strings.Contains(err.Error(), "type=inline") {
		t.Fatalf("plain image: %v", err)
	}
}

func TestParseSpecInline(t *testing.T) {
	sp, err := ParseSpec("type=inline")
	if err != nil || sp.Type != "inline" || sp.Mode != "min" {
		t.Fatalf("type=inline: %+v %v", sp, err)
	}
	if _, err := ParseSpec("type=inline,mode=min"); err != nil {
		t.Fatal(err)
	}
	if _, err := ParseSpec("type=inline,mode=max"); err == nil || !strings.Contains(err.Error(), "mode=min") {
		t.Fatalf("mode=max: %v", err)
	}
	if _, err := ParseSpec("type=inline,ref=r/x:1"); err == nil {
		t.Fatal("type=inline,ref=: want an error")
	}
}
