package remotecache

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

func countFiles(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			n++
		}
		return nil
	})
	return n
}

// A cache mount goes into a local cache as one content-addressed blob: an
// unchanged directory is the same blob and adds no file to the cache; a
// fresh store restores it, content, mode and all, before its first use,
// and keeps a directory it has already.
func TestMountRoundTrip(t *testing.T) {
	ctx := context.Background()
	a := openStore(t)
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "_cacache", "content"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "_cacache", "content", "pkg.tgz"), []byte("tarball bytes"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	const id = "/root/.npm"
	m1, err := PackMount(ctx, a, id, dir)
	if err != nil {
		t.Fatal(err)
	}
	cache := filepath.Join(t.TempDir(), "cache")
	sp := Spec{Type: "local", Dir: cache}
	if err := Export(ctx, a, nil, sp, nil, m1); err != nil {
		t.Fatal(err)
	}
	before := countFiles(t, filepath.Join(cache, "blobs"))
	m2, err := PackMount(ctx, a, id, dir)
	if err != nil {
		t.Fatal(err)
	}
	if m2.Layer.Digest != m1.Layer.Digest {
		t.Fatalf("an unchanged cache packed as %s, then %s", m1.Layer.Digest, m2.Layer.Digest)
	}
	if err := Export(ctx, a, nil, sp, nil, m2); err != nil {
		t.Fatal(err)
	}
	if after := countFiles(t, filepath.Join(cache, "blobs")); after != before {
		t.Errorf("exporting an unchanged cache mount again: %d blobs, then %d", before, after)
	}

	b := openStore(t)
	src, err := Import(ctx, b, nil, Spec{Type: "local", Dir: cache})
	if err != nil {
		t.Fatal(err)
	}
	if !HasMount([]*Source{src}, id) || HasMount([]*Source{src}, "/other") {
		t.Fatalf("imported mounts: %v", src.mounts)
	}
	restored, err := RestoreMount(ctx, b, []*Source{src}, id)
	if err != nil || !restored {
		t.Fatalf("restore: %v, %v", restored, err)
	}
	got, err := os.ReadFile(filepath.Join(b.CacheMountPath(id, 0), "_cacache", "content", "pkg.tgz"))
	if err != nil || string(got) != "tarball bytes" {
		t.Errorf("restored file: %q, %v", got, err)
	}
	if fi, err := os.Stat(b.CacheMountPath(id, 0)); err != nil || fi.Mode().Perm() != 0o750 {
		t.Errorf("restored directory: %v, %v; want mode 0750", fi.Mode(), err)
	}
	if restored, err := RestoreMount(ctx, b, []*Source{src}, id); err != nil || restored {
		t.Errorf("a second restore over the store's own directory: %v, %v; want it left alone", restored, err)
	}
	carried, err := CarryMounts(ctx, []*Source{src}, nil)
	if err != nil || len(carried) != 1 || carried[0].Layer.Digest != m1.Layer.Digest || !b.HasBlob(m1.Layer.Digest) {
		t.Errorf("carried %v, %v", carried, err)
	}
	if carried, _ := CarryMounts(ctx, []*Source{src}, map[string]bool{id: true}); len(carried) != 0 {
		t.Errorf("a mount the build packs itself is carried too: %v", carried)
	}
}

func TestMountAttrs(t *testing.T) {
	sp, err := ParseSpec("type=registry,ref=r:5000/c,cache-mounts=true,cache-mounts-max-size=512m")
	if err != nil || !sp.CacheMounts || sp.MountsMaxSize != 512<<20 {
		t.Errorf("%+v, %v", sp, err)
	}
	if sp, _ := ParseSpec("type=local,dest=/tmp/c"); sp.CacheMounts || sp.MountsMaxSize != DefaultMountsMaxSize {
		t.Errorf("defaults: %+v", sp)
	}
	for _, bad := range []string{"type=inline,cache-mounts=true", "type=local,dest=/c,cache-mounts=yes!", "type=s3,bucket=b,region=r,cache-mounts-max-size=big"} {
		if _, err := ParseSpec(bad); err == nil {
			t.Errorf("%s: want an error", bad)
		}
	}
}
