package image

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"testing"
	"time"

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-build/kiln/internal/store"
)

func sampleImage(t *testing.T, s *store.Store, arch string) (*Image, ocispec.Descriptor) {
	t.Helper()
	layerBlob, err := s.PutBlob([]byte("layer-" + arch))
	if err != nil {
		t.Fatal(err)
	}
	img := New(ocispec.Platform{OS: "linux", Architecture: arch})
	epoch := time.Unix(0, 0).UTC()
	img.Config.Created = &epoch
	img.SetEnv("PATH", "/bin")
	img.SetEnv("A", "1")
	img.SetEnv("PATH", "/usr/bin")
	img.AddLayer(&Layer{Digest: layerBlob, DiffID: digest.FromString("diff-" + arch), Size: 11, MediaType: ocispec.MediaTypeImageLayerGzip}, "COPY x /", epoch)
	img.AddHistory("ENV A=1", epoch)
	desc, err := Commit(s, img)
	if err != nil {
		t.Fatal(err)
	}
	return img, desc
}

func TestCommitLoadRoundTrip(t *testing.T) {
	s, _ := store.Open(t.TempDir())
	img, desc := sampleImage(t, s, "amd64")
	got, manifest, err := Load(s, desc, ocispec.Platform{OS: "linux", Architecture: "amd64"})
	if err != nil {
		t.Fatal(err)
	}
	if manifest != desc.Digest || len(got.Layers) != 1 || got.Layers[0] != img.Layers[0] {
		t.Fatalf("loaded %+v (manifest %s)", got.Layers, manifest)
	}
	if env := got.Env(); len(env) != 2 || env[0] != "PATH=/usr/bin" || env[1] != "A=1" {
		t.Fatalf("env %v: SetEnv must replace in place", env)
	}
	if h := got.Config.History; len(h) != 2 || h[0].EmptyLayer || !h[1].EmptyLayer {
		t.Fatalf("history %+v", h)
	}
}

func TestIndexPicksPlatform(t *testing.T) {
	s, _ := store.Open(t.TempDir())
	_, amd := sampleImage(t, s, "amd64")
	_, arm := sampleImage(t, s, "arm64")
	idx, err := CommitIndex(s, []ocispec.Descriptor{amd, arm})
	if err != nil {
		t.Fatal(err)
	}
	_, m, err := Load(s, idx, ocispec.Platform{OS: "linux", Architecture: "arm64"})
	if err != nil || m != arm.Digest {
		t.Fatalf("picked %s, %v; want the arm64 manifest", m, err)
	}
	if _, _, err := Load(s, idx, ocispec.Platform{OS: "linux", Architecture: "s390x"}); err == nil {
		t.Fatal("a platform the index lacks was accepted")
	}
}

// The OCI tar is byte-for-byte stable and holds every reachable blob once.
func TestOCITarIsDeterministic(t *testing.T) {
	s, _ := store.Open(t.TempDir())
	_, desc := sampleImage(t, s, "amd64")
	named := []Named{{Name: "docker.io/library/app:1", Descriptor: desc}}
	var a, b bytes.Buffer
	if err := WriteOCITar(&a, s, named, time.Unix(0, 0)); err != nil {
		t.Fatal(err)
	}
	if err := WriteOCITar(&b, s, named, time.Unix(0, 0)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("two exports differ")
	}
	tr := tar.NewReader(&a)
	names := map[string]bool{}
	var index ocispec.Index
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names[h.Name] = true
		if h.Name == "index.json" {
			data, _ := io.ReadAll(tr)
			json.Unmarshal(data, &index)
		}
	}
	if len(names) != 7 { // oci-layout, index.json, 2 dirs, manifest, config, layer
		t.Fatalf("entries %v", names)
	}
	if index.Manifests[0].Annotations[ocispec.AnnotationRefName] != "1" {
		t.Fatalf("ref name annotation %v", index.Manifests[0].Annotations)
	}
}
