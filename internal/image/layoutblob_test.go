package image

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestOpenLayoutBlobHostile: digests read from a layout's files are parsed
// and validated, and the blob is opened inside the layout, regular files
// only: no panic, no host file, no device.
func TestOpenLayoutBlobHostile(t *testing.T) {
	dir := t.TempDir()
	blobs := filepath.Join(dir, "blobs", "sha256")
	if err := os.MkdirAll(blobs, 0o755); err != nil {
		t.Fatal(err)
	}
	good := []byte("content")
	gd := digest.FromBytes(good)
	if err := os.WriteFile(filepath.Join(blobs, gd.Encoded()), good, 0o644); err != nil {
		t.Fatal(err)
	}
	zero, host := digest.FromString("zero"), digest.FromString("host")
	if err := os.Symlink("/dev/zero", filepath.Join(blobs, zero.Encoded())); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../../../../../etc/hostname", filepath.Join(blobs, host.Encoded())); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		d    ocispec.Descriptor
		want string
	}{
		{ocispec.Descriptor{Digest: ""}, "invalid digest"},
		{ocispec.Descriptor{Digest: "md5:d41d8cd98f00b204e9800998ecf8427e"}, "invalid digest"},
		{ocispec.Descriptor{Digest: digest.Digest("sha512:" + strings.Repeat("a", 128))}, "only sha256"},
		{ocispec.Descriptor{Digest: "sha256:../../etc/hostname"}, "invalid digest"},
		{ocispec.Descriptor{Digest: zero}, "escapes"},
		{ocispec.Descriptor{Digest: host}, "escapes"},
		{ocispec.Descriptor{Digest: gd, Size: 3}, "has 7 bytes, its descriptor says 3"},
	} {
		f, err := OpenLayoutBlob(dir, tt.d)
		if err == nil {
			f.Close()
			t.Errorf("%q: opened, want an error with %q", tt.d.Digest, tt.want)
		} else if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: %v, want %q", tt.d.Digest, err, tt.want)
		}
	}
	f, err := OpenLayoutBlob(dir, ocispec.Descriptor{Digest: gd, Size: int64(len(good))})
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
}
