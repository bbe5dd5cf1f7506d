package remotecache

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/kiln-build/kiln/internal/registry"
	"github.com/kiln-build/kiln/test/harness"
)

// Through a registry (docker-registry on loopback): the cache mount is one
// more blob of the cache manifest; an unchanged cache exported again
// uploads nothing, and a fresh store restores it.
func TestRegistryCacheMountUnchangedUploadsNothing(t *testing.T) {
	reg := harness.StartRegistry(t)
	ctx := context.Background()
	s := openStore(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pkg.tgz"), []byte("npm tarball"), 0o644); err != nil {
		t.Fatal(err)
	}
	client := registry.New(nil)
	sp, err := ParseSpec("type=registry,ref=" + reg.Addr + "/team/cache:main,cache-mounts=true")
	if err != nil {
		t.Fatal(err)
	}
	export := func() {
		t.Helper()
		m, err := PackMount(ctx, s, "/root/.npm", dir)
		if err != nil {
			t.Fatal(err)
		}
		if err := Export(ctx, s, client, sp, nil, m); err != nil {
			t.Fatal(err)
		}
	}
	export()
	blobs, uploads := reg.BlobCount(t), len(reg.Uploads())
	if blobs != 3 {
		t.Fatalf("the registry holds %d blobs, want the mount, the config and the manifest", blobs)
	}
	export()
	if got, ups := reg.BlobCount(t), len(reg.Uploads()); got != blobs || ups != uploads {
		t.Errorf("an unchanged export: %d blobs (was %d), %d uploads (was %d); want nothing uploaded", got, blobs, ups, uploads)
	}
	to := openStore(t)
	src, err := Import(ctx, to, client, sp)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := RestoreMount(ctx, to, []*Source{src}, "/root/.npm"); !ok || err != nil {
		t.Fatalf("restore: %v, %v", ok, err)
	}
	if got, err := os.ReadFile(filepath.Join(to.CacheMountPath("/root/.npm", 0), "pkg.tgz")); err != nil || string(got) != "npm tarball" {
		t.Errorf("restored pkg.tgz: %q, %v", got, err)
	}
}
