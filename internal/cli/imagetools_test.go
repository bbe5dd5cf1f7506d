package cli

import (
	"encoding/json"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// imagetoolsRegistry is an in-memory registry holding an amd64 and an
// arm64 OCI image, pushed by digest into repo app; it returns the host and the
// two digests.
func imagetoolsRegistry(t *testing.T) (host string, amd, arm v1.Hash) {
	t.Helper()
	t.Setenv("DOCKER_CONFIG", t.TempDir()) // no credentials of this machine
	srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	host = strings.TrimPrefix(srv.URL, "http://")
	push := func(arch string) v1.Hash {
		img, err := random.Image(1024, 2)
		if err != nil {
			t.Fatal(err)
		}
		cf, _ := img.ConfigFile()
		cf.OS, cf.Architecture = "linux", arch
		if img, err = mutate.ConfigFile(img, cf); err != nil {
			t.Fatal(err)
		}
		img = mutate.ConfigMediaType(mutate.MediaType(img, types.OCIManifestSchema1), types.OCIConfigJSON)
		d, _ := img.Digest()
		ref, _ := name.NewDigest(host + "/app@" + d.String())
		if err := remote.Write(ref, img); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return host, push("amd64"), push("arm64")
}

func index(t *testing.T, out string) ocispec.Index {
	t.Helper()
	var idx ocispec.Index
	if err := json.Unmarshal([]byte(out), &idx); err != nil {
		t.Fatalf("not an index: %v\n%s", err, out)
	}
	return idx
}

func TestImagetoolsCreateAndInspect(t *testing.T) {
	host, amd, arm := imagetoolsRegistry(t)
	out, err := runKiln(t, "", "imagetools", "create", "-t", host+"/app:1", host+"/app@"+amd.String(), host+"/app@"+arm.String())
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	digestLine := lastLine(out)
	out, err = runKiln(t, "", "imagetools", "inspect", host+"/app:1")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"Digest:    " + digestLine, host + "/app@" + amd.String(), "Platform:    linux/amd64", "Platform:    linux/arm64"} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect lacks %q:\n%s", want, out)
		}
	}
	raw, err := runKiln(t, "", "imagetools", "inspect", "--raw", host+"/app:1")
	if err != nil {
		t.Fatal(err)
	}
	if idx := index(t, raw); len(idx.Manifests) != 2 || idx.Manifests[0].Digest.String() != amd.String() {
		t.Errorf("raw index:\n%s", raw)
	}

	// --append with a digest alone (in the tag's repository) and an index
	// annotation, shown with --dry-run and not pushed.
	out, err = runKiln(t, "", "imagetools", "create", "--dry-run", "--append", "-t", host+"/app:1",
		"--annotation", "index:org.opencontainers.image.title=app", host+"/app@"+arm.String())
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	idx := index(t, out)
	if len(idx.Manifests) != 2 || idx.Annotations["org.opencontainers.image.title"] != "app" {
		t.Errorf("appended index:\n%s", out)
	}
	again, _ := runKiln(t, "", "imagetools", "inspect", "--raw", host+"/app:1")
	if again != raw {
		t.Errorf("--dry-run changed the tag:\n%s\nwas\n%s", again, raw)
	}
}

// -f reads a descriptor; a digest or descriptor source is in the one
// repository named.
func TestImagetoolsCreateFromDescriptorFile(t *testing.T) {
	host, amd, arm := imagetoolsRegistry(t)
	file := filepath.Join(t.TempDir(), "arm.json")
	desc := `{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + arm.String() + `","platform":{"os":"linux","architecture":"arm64","variant":"v8"}}`
	if err := os.WriteFile(file, []byte(desc+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runKiln(t, "", "imagetools", "create", "--dry-run", "-t", host+"/app:2", "-f", file, amd.String())
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	idx := index(t, out)
	if len(idx.Manifests) != 2 || idx.Manifests[0].Digest.String() != arm.String() || idx.Manifests[0].Platform.Variant != "v8" ||
		idx.Manifests[1].Platform.Architecture != "amd64" {
		t.Errorf("index:\n%s", out)
	}
}

func TestImagetoolsCreateErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"imagetools", "create", "-t", "r.example/a:1"}, "no sources specified"},
		{[]string{"imagetools", "create", "r.example/a:1"}, "please set --tag or --dry-run"},
		{[]string{"imagetools", "create", "-t", "r.example/a:1", "-t", "r.example/b:1", "sha256:" + strings.Repeat("a", 64)}, "cannot infer repository"},
		{[]string{"imagetools", "create", "-t", "r.example/a:1", "sha256:abc"}, `source "sha256:abc"`},
		{[]string{"imagetools", "create", "-t", "r.example/a:1", `{"schemaVersion":2,"manifests":[]}`}, "expected an OCI content descriptor"},
		{[]string{"imagetools", "create", "-t", "r.example/a:1", "--annotation", "org.example=1", "r.example/a:0"}, "manifest annotations would change the images"},
		{[]string{"imagetools", "create", "-t", "r.example/a:1", "--annotation", "index[linux/amd64]:k=v", "r.example/a:0"}, "takes no platform"},
	} {
		out, err := runKiln(t, "", c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v (%s), want %q", c.args, err, out, c.want)
		}
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
