package integration

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	digest "github.com/opencontainers/go-digest"

	"github.com/kiln-build/kiln/test/harness"
)

// An image of 150 layers builds (issue 18: more than 111 overflowed the
// page of overlay mount options, where BuildKit builds 131): every step
// mounts all the layers below it, and the last RUN sees the files of each.
func TestBuildOf150Layers(t *testing.T) {
	t.Parallel()
	requireSuite(t)
	s := suiteStore(t)
	ctx := t.TempDir()
	const copies = 148 // + the busybox base and the RUN: 150 layers
	files := map[string]string{}
	var df strings.Builder
	df.WriteString("FROM busybox:test\n")
	for i := 1; i <= copies; i++ {
		name := fmt.Sprintf("f%03d", i)
		files[name] = name + "\n"
		fmt.Fprintf(&df, "COPY %s /layers/\n", name)
	}
	df.WriteString("RUN cat /layers/* | wc -l > /count && cat /layers/f001 /layers/f148 > /ends\n")
	files["Dockerfile"] = df.String()
	writeFiles(t, ctx, files)
	tar := filepath.Join(t.TempDir(), "image.tar")
	s.MustRun(t, "build", "--progress", "plain", "-o", "type=oci,dest="+tar, ctx)

	img := harness.ReadImage(t, tar)
	if n := len(img.Manifest.Layers); n != 150 {
		t.Fatalf("the image has %d layers, want 150", n)
	}
	fsys := img.Files(t)
	for path, want := range map[string]string{"/count": fmt.Sprintf("%d\n", copies), "/ends": "f001\nf148\n"} {
		if f := fsys[path]; f.Digest != digest.FromString(want) {
			t.Errorf("%s is %s, want the content %q (the RUN did not see every layer)", path, f, want)
		}
	}
}
