package session

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/containerd/platforms"

	"github.com/kiln-build/kiln/internal/imports"
	"github.com/kiln-build/kiln/internal/store"
	"github.com/kiln-build/kiln/internal/testutil"
)

// newStore makes a store holding busybox:test, imported from the host's
// busybox-static.
func newStore(t *testing.T, rootfs string) string {
	t.Helper()
	root := t.TempDir()
	s, err := store.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := imports.Rootfs(context.Background(), s, rootfs, imports.Options{Platform: platforms.DefaultSpec()})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Tag("busybox:test", desc); err != nil {
		t.Fatal(err)
	}
	return root
}

func writeContext(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func touchAll(t *testing.T, dir string, when time.Time) {
	t.Helper()
	err := filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Chtimes(p, when, when)
	})
	if err != nil {
		t.Fatal(err)
	}
}

const reproDockerfile = `FROM busybox:test AS builder
WORKDIR /src
COPY . .
RUN mkdir -p /out && cp -r /src /out/app && echo built > /out/app/stamp && chmod 0750 /out/app

FROM scratch
COPY --from=builder /out/app /app
ENV MODE=prod
CMD ["/app/stamp"]
`

// Two stores, context mtimes changed in between, the same image digest.
func TestReproducibleAcrossStores(t *testing.T) {
	testutil.RequireRoot(t)
	rootfs := t.TempDir()
	testutil.BusyboxRootfs(t, rootfs)
	ctxDir := writeContext(t, map[string]string{
		"Dockerfile": reproDockerfile, "main.go": "package main\n", "sub/data.txt": "data\n",
	})
	t.Setenv("SOURCE_DATE_EPOCH", "")
	digests := map[string]bool{}
	for i, when := range []time.Time{time.Now(), time.Now().Add(-48 * time.Hour)} {
		touchAll(t, ctxDir, when)
		var out bytes.Buffer
		res, err := Run(context.Background(), Options{
			ContextDir: ctxDir, StoreRoot: newStore(t, rootfs), Progress: "plain", Out: &out,
			BuildArgs: map[string]string{}, Network: "default",
		})
		if err != nil {
			t.Fatalf("build %d: %v\n%s", i, err, out.String())
		}
		digests[res.Descriptor.Digest.String()] = true
	}
	if len(digests) != 1 {
		t.Fatalf("two builds of the same inputs gave different digests: %v", digests)
	}
}

// A Dockerfile with no RUN gives a pinned digest: a change in layer or config
// encoding shows up here first.
func TestGoldenDigest(t *testing.T) {
	testutil.RequireRoot(t)
	ctxDir := writeContext(t, map[string]string{
		"Dockerfile": "FROM scratch\nCOPY --chmod=0644 hello.txt /hello.txt\nCOPY dir/ /dir/\nENV A=1\nLABEL org.example=yes\nEXPOSE 8080\nUSER 1000:1000\nWORKDIR /\nCMD [\"/hello\"]\n",
		"hello.txt":  "hello\n",
		"dir/a":      "a\n",
	})
	touchAll(t, ctxDir, time.Now())
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	var out bytes.Buffer
	res, err := Run(context.Background(), Options{
		ContextDir: ctxDir, StoreRoot: t.TempDir(), Progress: "plain", Out: &out, BuildArgs: map[string]string{},
	})
	if err != nil {
		t.Fatalf("build: %v\n%s", err, out.String())
	}
	want, err := os.ReadFile(filepath.Join("testdata", "golden-digest.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Descriptor.Digest.String(); got != strings.TrimSpace(string(want)) {
		t.Fatalf("digest %s, golden file says %s", got, strings.TrimSpace(string(want)))
	}
	if c := res.Image.Config.Created; c == nil || c.Unix() != 1700000000 {
		t.Fatalf("created = %v, want SOURCE_DATE_EPOCH", c)
	}
}
