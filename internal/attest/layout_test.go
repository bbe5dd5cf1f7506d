package attest

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-build/kiln/internal/store"
)

func openStore(t *testing.T) *store.Store {
	t.Helper()
	s, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func oracleIndex(t *testing.T, name string) ocispec.Index {
	t.Helper()
	var idx ocispec.Index
	if err := json.Unmarshal(readFixture(t, name), &idx); err != nil {
		t.Fatal(err)
	}
	return idx
}

// The same statement about the same image gives BuildKit's attestation
// manifest byte for byte, in both forms, and its index entry.
func TestCommitManifestMatchesOracle(t *testing.T) {
	for _, c := range []struct {
		prefix, statement string
		legacy            bool
	}{
		{"artifact", "scratch-max.json", false},
		{"legacy", "legacy-statement.json", true},
	} {
		t.Run(c.prefix, func(t *testing.T) {
			s := openStore(t)
			idx := oracleIndex(t, c.prefix+"-index.json")
			desc, err := CommitManifest(s, idx.Manifests[0], [][]byte{readFixture(t, c.statement)}, c.legacy)
			if err != nil {
				t.Fatal(err)
			}
			want := readFixture(t, c.prefix+"-attestation-manifest.json")
			got, err := s.ReadBlob(desc.Digest)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("manifest\n%s\nwant BuildKit's\n%s", got, want)
			}
			if !reflect.DeepEqual(desc, idx.Manifests[1]) {
				t.Errorf("index entry %+v, want %+v", desc, idx.Manifests[1])
			}
			var m ocispec.Manifest
			if err := json.Unmarshal(got, &m); err != nil {
				t.Fatal(err)
			}
			cfg, err := s.ReadBlob(m.Config.Digest)
			if err != nil {
				t.Fatalf("the config blob is not in the store: %v", err)
			}
			if c.legacy && !bytes.Equal(cfg, readFixture(t, "legacy-attestation-config.json")) {
				t.Errorf("legacy config %s", cfg)
			}
			if !s.HasBlob(m.Layers[0].Digest) {
				t.Error("the statement is not in the store")
			}
		})
	}
}

// A two-platform image gets BuildKit's index: both platform manifests,
// then one attestation manifest each, in the same order.
func TestAttachMatchesOracle(t *testing.T) {
	s := openStore(t)
	idx := oracleIndex(t, "multi-index.json")
	stmts := map[digest.Digest][]Statement{}
	for i, arch := range []string{"amd64", "arm64"} {
		var st Statement
		if err := json.Unmarshal(readFixture(t, "multi-min-"+arch+".json"), &st); err != nil {
			t.Fatal(err)
		}
		stmts[idx.Manifests[i].Digest] = []Statement{st}
	}
	got, err := Attach(s, idx.Manifests[:2], stmts, AttachOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, idx.Manifests) {
		g, _ := json.MarshalIndent(got, "", "  ")
		t.Errorf("index manifests\n%s\nwant BuildKit's\n%s", g, readFixture(t, "multi-index.json"))
	}
	back, err := Statements(s, got[3])
	if err != nil {
		t.Fatal(err)
	}
	if len(back) != 1 || back[0].Subject[0].Digest["sha256"] != idx.Manifests[1].Digest.Encoded() {
		t.Errorf("statements read back %+v", back)
	}
}

// Statements without subjects are about the image by each of its names;
// a manifest without statements gets no attestation manifest.
func TestAttachSubjects(t *testing.T) {
	s := openStore(t)
	amd, arm := ocispec.Platform{OS: "linux", Architecture: "amd64"}, ocispec.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}
	manifests := []ocispec.Descriptor{
		{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString("a"), Size: 1, Platform: &amd},
		{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString("b"), Size: 1, Platform: &arm},
	}
	st := NewStatement(PredicateSLSA1, []byte(`{"buildDefinition":{}}`))
	got, err := Attach(s, manifests, map[digest.Digest][]Statement{manifests[1].Digest: {st}}, AttachOptions{Names: []string{"registry.example/app:1", "app"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[2].Annotations[AnnotationRefDigest] != manifests[1].Digest.String() || !IsAttestation(got[2]) {
		t.Fatalf("index manifests %+v", got)
	}
	back, err := Statements(s, got[2])
	if err != nil {
		t.Fatal(err)
	}
	want := []Subject{
		{Name: "pkg:docker/registry.example/app@1?platform=linux%2Farm64", Digest: map[string]string{"sha256": manifests[1].Digest.Encoded()}},
		{Name: "pkg:docker/app@latest?platform=linux%2Farm64", Digest: map[string]string{"sha256": manifests[1].Digest.Encoded()}},
	}
	if !reflect.DeepEqual(back[0].Subject, want) {
		t.Errorf("subjects %+v, want %+v", back[0].Subject, want)
	}
}
