package exporter

import (
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/store"
)

// Metadata has buildx's keys: the digest, the descriptor, a single
// manifest's config digest, and image.name from name= before the -t names.
func TestMetadata(t *testing.T) {
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	amd := ocispec.Platform{OS: "linux", Architecture: "amd64"}
	r, err := Commit(Session{Store: st}, []*image.Image{image.New(amd)}, CommitOptions{Tags: []string{"app:1", "app:2"}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := ParseOutput("type=image,name=r:5000/team/app,push-by-digest=true,push=true")
	if err != nil {
		t.Fatal(err)
	}
	m, err := Metadata(st, r, []Output{out})
	if err != nil {
		t.Fatal(err)
	}
	if m["containerimage.digest"] != r.Desc.Digest.String() || m["image.name"] != "r:5000/team/app" {
		t.Errorf("metadata %v: want digest %s and image.name r:5000/team/app", m, r.Desc.Digest)
	}
	if cd, _ := m["containerimage.config.digest"].(string); len(cd) != len("sha256:")+64 {
		t.Errorf("containerimage.config.digest = %q", cd)
	}
	if m, _ = Metadata(st, r, nil); m["image.name"] != "app:1,app:2" {
		t.Errorf("without name=, image.name = %v, want the -t names", m["image.name"])
	}
}

// push-by-digest refuses a name with a tag or digest, as BuildKit does.
func TestByDigestRefusesTags(t *testing.T) {
	for _, n := range []string{"r:5000/app:1", "app@sha256:0000000000000000000000000000000000000000000000000000000000000000", "r:5000/a,r:5000/b:2"} {
		if err := checkByDigestNames(n); err == nil {
			t.Errorf("%s: want a refusal", n)
		}
	}
	if err := checkByDigestNames("r:5000/team/app,docker.io/x/y"); err != nil {
		t.Errorf("repositories only: %v", err)
	}
}
