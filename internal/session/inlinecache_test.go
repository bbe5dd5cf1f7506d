package session

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-build/kiln/internal/remotecache"
	"github.com/kiln-build/kiln/internal/store"
	"github.com/kiln-build/kiln/internal/testutil"
)

// --cache-to type=inline adds one field to the image config and nothing
// else; without it the image is the golden one.
func TestInlineCacheOnlyAddsConfigField(t *testing.T) {
	testutil.RequireRoot(t)
	ctxDir := writeContext(t, map[string]string{
		"Dockerfile": "FROM scratch\nCOPY --chmod=0644 hello.txt /hello.txt\nCOPY dir/ /dir/\nENV A=1\nLABEL org.example=yes\nEXPOSE 8080\nUSER 1000:1000\nWORKDIR /\nCMD [\"/hello\"]\n",
		"hello.txt":  "hello\n",
		"dir/a":      "a\n",
	})
	touchAll(t, ctxDir, time.Now())
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	build := func(cacheTo []remotecache.Spec) (*store.Store, *Result) {
		root := t.TempDir()
		var out bytes.Buffer
		res, err := Run(context.Background(), Options{
			ContextDir: ctxDir, StoreRoot: root, Progress: "plain", Out: &out, BuildArgs: map[string]string{},
			CacheTo: cacheTo,
		})
		if err != nil {
			t.Fatalf("build: %v\n%s", err, out.String())
		}
		s, err := store.Open(root)
		if err != nil {
			t.Fatal(err)
		}
		return s, res
	}
	inline, err := remotecache.ParseSpec("type=inline")
	if err != nil {
		t.Fatal(err)
	}
	sp, plain := build(nil)
	si, withCache := build([]remotecache.Spec{inline})

	golden, _ := os.ReadFile(filepath.Join("testdata", "golden-digest.txt"))
	if got := plain.Descriptor.Digest.String(); got != strings.TrimSpace(string(golden)) {
		t.Fatalf("without --cache-to type=inline: digest %s, golden %s", got, golden)
	}
	if withCache.Descriptor.Digest == plain.Descriptor.Digest {
		t.Fatal("the inline cache did not change the image")
	}
	pm, pc := testutil.ManifestAndConfig(t, sp, plain.Descriptor.Digest)
	im, ic := testutil.ManifestAndConfig(t, si, withCache.Descriptor.Digest)
	if !bytes.HasPrefix(ic, pc[:len(pc)-1]) || !bytes.HasPrefix(ic[len(pc)-1:], []byte(`,"kiln.cache.v1":{"entries":[`)) {
		t.Fatalf("config with inline cache:\n%s\nwithout:\n%s", ic, pc)
	}
	im.Config, pm.Config = ocispec.Descriptor{}, ocispec.Descriptor{}
	a, _ := json.Marshal(im)
	b, _ := json.Marshal(pm)
	if !bytes.Equal(a, b) {
		t.Fatalf("manifests differ beyond the config:\n%s\n%s", a, b)
	}
	entries, ok, err := remotecache.DecodeInline(ic, im.Layers)
	if err != nil || !ok {
		t.Fatalf("decode: %v %v", ok, err)
	}
	layered := 0
	for _, e := range entries {
		if e.Layer != nil {
			layered++
		}
	}
	if layered != 2 {
		t.Fatalf("want both COPY layers in the inline cache, got %+v", entries)
	}
}

// A warm rebuild (every step and the COPY --from source memo answered by
// the local store) makes the same inline-cache image as the cold build.
func TestInlineCacheWarmRebuildSameDigest(t *testing.T) {
	testutil.RequireRoot(t)
	rootfs := t.TempDir()
	testutil.BusyboxRootfs(t, rootfs)
	ctxDir := writeContext(t, map[string]string{"Dockerfile": reproDockerfile, "main.go": "package main\n"})
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	inline, _ := remotecache.ParseSpec("type=inline")
	root := newStore(t, rootfs)
	var digests []string
	for i := 0; i < 2; i++ {
		var out bytes.Buffer
		res, err := Run(context.Background(), Options{
			ContextDir: ctxDir, StoreRoot: root, Progress: "plain", Out: &out,
			BuildArgs: map[string]string{}, Network: "default", CacheTo: []remotecache.Spec{inline},
		})
		if err != nil {
			t.Fatalf("build %d: %v\n%s", i, err, out.String())
		}
		if i == 1 && strings.Count(out.String(), "CACHED") < 3 {
			t.Fatalf("the rebuild was not cached:\n%s", out.String())
		}
		digests = append(digests, res.Descriptor.Digest.String())
	}
	if digests[0] != digests[1] {
		t.Fatalf("cold build %s, warm rebuild %s", digests[0], digests[1])
	}
}
