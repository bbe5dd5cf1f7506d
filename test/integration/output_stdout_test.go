package integration

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/kiln-build/kiln/test/harness"
)

const stdoutDockerfile = `FROM busybox:test
RUN mkdir -p /out && echo streamed > /out/hello && chmod 0751 /out/hello
`

// -o - streams the final filesystem as a tar on standard output, as
// buildx's; progress stays on stderr.
func TestOutputTarToStdout(t *testing.T) {
	t.Parallel()
	requireSuite(t)
	s := suiteStore(t)
	ctx := t.TempDir()
	writeFiles(t, ctx, map[string]string{"Dockerfile": stdoutDockerfile})
	for _, flag := range []string{"-", "type=tar,dest=-"} {
		t.Run(flag, func(t *testing.T) {
			r := s.MustRun(t, "build", "--progress", "plain", "-o", flag, ctx)
			if _, err := os.Stat(filepath.Join(ctx, "-")); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("build made a file named -: %v", err)
			}
			hdr, data := tarEntry(t, []byte(r.Stdout), "out/hello")
			if string(data) != "streamed\n" || hdr.FileInfo().Mode().Perm() != 0o751 {
				t.Errorf("out/hello = %q mode %o, want \"streamed\\n\" mode 751", data, hdr.FileInfo().Mode().Perm())
			}
			if _, data := tarEntry(t, []byte(r.Stdout), "bin/busybox"); len(data) == 0 {
				t.Error("bin/busybox is empty in the streamed tar")
			}
		})
	}
}

// type=oci,dest=- streams an OCI layout tar holding the built image.
func TestOutputOCIToStdout(t *testing.T) {
	t.Parallel()
	requireSuite(t)
	s := suiteStore(t)
	ctx := t.TempDir()
	writeFiles(t, ctx, map[string]string{"Dockerfile": stdoutDockerfile})
	r := s.MustRun(t, "build", "--progress", "plain", "-o", "type=oci,dest=-", ctx)
	tarPath := filepath.Join(t.TempDir(), "image.tar")
	if err := os.WriteFile(tarPath, []byte(r.Stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	img := harness.ReadImage(t, tarPath)
	if _, err := os.Stat(filepath.Join(img.Layout, "oci-layout")); err != nil {
		t.Errorf("streamed tar has no oci-layout: %v", err)
	}
	f, ok := img.Files(t)["/out/hello"]
	if !ok || f.Type != "file" || f.Mode != 0o751 || f.Size != int64(len("streamed\n")) {
		t.Errorf("/out/hello in the streamed image = %v (found %v), want a 9-byte file mode 0751", f, ok)
	}
}

// Two outputs cannot share standard output.
func TestOutputStdoutTwice(t *testing.T) {
	t.Parallel()
	requireSuite(t)
	s := suiteStore(t)
	ctx := t.TempDir()
	writeFiles(t, ctx, map[string]string{"Dockerfile": stdoutDockerfile})
	r := s.Run(t, "build", "-o", "-", "-o", "type=oci,dest=-", ctx)
	if r.Code == 0 || !bytes.Contains([]byte(r.Stderr), []byte("multiple outputs configured to write to stdout")) {
		t.Errorf("two stdout outputs were not refused:\n%s", r)
	}
}

// tarEntry returns the header and content of name in the tar data.
func tarEntry(t *testing.T, data []byte, name string) (*tar.Header, []byte) {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		hdr, err := tr.Next()
		if err != nil {
			t.Fatalf("reading the tar from stdout for %s: %v (%d bytes)", name, err, len(data))
		}
		if filepath.Clean(hdr.Name) == name {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			return hdr, b
		}
	}
}
