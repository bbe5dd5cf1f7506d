package hostile

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	digest "github.com/opencontainers/go-digest"

	"github.com/kiln-build/kiln/test/harness"
)

// hostileLayout writes an OCI layout whose index.json names one manifest
// with digest dg and size, and whose blobs/sha256 holds what blob says.
func hostileLayout(t *testing.T, dg string, size int64, blob func(dir string)) string {
	t.Helper()
	dir := t.TempDir()
	harness.MkdirAll(t, filepath.Join(dir, "blobs", "sha256"))
	harness.WriteFile(t, filepath.Join(dir, "oci-layout"), `{"imageLayoutVersion":"1.0.0"}`, 0o644)
	idx := fmt.Sprintf(`{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":%q,"size":%d,"annotations":{"org.opencontainers.image.ref.name":"latest"}}]}`, dg, size)
	harness.WriteFile(t, filepath.Join(dir, "index.json"), idx, 0o644)
	if blob != nil {
		blob(filepath.Join(dir, "blobs", "sha256"))
	}
	return dir
}

// TestDigestsFromFiles: digests in the index.json of an oci-layout://
// context or a --cache-from type=local cache are parsed and validated, and
// blobs opened only by validated path: no panic on "" or md5:, no host file
// through sha256:../.., no disk filled from /dev/zero.
func TestDigestsFromFiles(t *testing.T) {
	t.Parallel()
	zero := digest.FromString("zero").Encoded()
	big := digest.FromString("big").Encoded()
	cases := []struct {
		name, digest string
		size         int64
		blob         func(dir string)
		want         string // in the oci-layout build's error
	}{
		{"empty digest", "", 2, nil, "invalid digest"},
		{"md5", "md5:d41d8cd98f00b204e9800998ecf8427e", 2, nil, "invalid digest"},
		{"path in digest", "sha256:../../../../../../../../etc/hostname", 2, nil, "invalid digest"},
		{"dev zero", "sha256:" + zero, 0, func(dir string) {
			if err := os.Symlink("/dev/zero", filepath.Join(dir, zero)); err != nil {
				t.Fatal(err)
			}
		}, "escapes"},
		{"bigger than declared", "sha256:" + big, 10, func(dir string) {
			harness.WriteFile(t, filepath.Join(dir, big), strings.Repeat("x", 1<<20), 0o644)
		}, "its descriptor says 10"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := harness.NewStore(t)
			layout := hostileLayout(t, tc.digest, tc.size, tc.blob)
			ctx := t.TempDir()
			harness.WriteFile(t, filepath.Join(ctx, "Dockerfile"), "FROM base\n", 0o644)
			r := s.Run(t, "build", "--progress", "plain", "--build-context", "base=oci-layout://"+layout, ctx)
			if r.Code != 1 || !strings.Contains(r.Stderr, tc.want) || strings.Contains(r.Stderr, "panic") {
				t.Errorf("oci-layout:// context: want exit 1 and an error with %q:\n%s", tc.want, r)
			}
			harness.WriteFile(t, filepath.Join(ctx, "Dockerfile"), "FROM scratch\nCOPY Dockerfile /\n", 0o644)
			r = s.Run(t, "build", "--progress", "plain", "--cache-from", "type=local,src="+layout, ctx)
			if r.Code != 0 || strings.Contains(r.Stderr, "panic") {
				t.Errorf("--cache-from type=local: want the build to run without the cache:\n%s", r)
			}
			s.Verify(t)
		})
	}
}
