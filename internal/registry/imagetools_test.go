package registry

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

var linuxArm64 = ocispec.Platform{OS: "linux", Architecture: "arm64"}

// twoNodes pushes an amd64 and an arm64 image by digest to repoAmd and
// repoArm of reg, as two build nodes would; it returns their canonical
// names and the index a single machine would have made of them.
func twoNodes(t *testing.T, reg *testRegistry, repoAmd, repoArm string) (amd, arm string, want ocispec.Descriptor) {
	t.Helper()
	s := newStore(t)
	m1, m2 := commitImage(t, s, linuxAmd64, 2), commitImage(t, s, linuxArm64, 2)
	var err error
	if amd, err = New(nil).PushByDigest(context.Background(), s, m1, reg.host+repoAmd); err != nil {
		t.Fatal(err)
	}
	if arm, err = New(nil).PushByDigest(context.Background(), s, m2, reg.host+repoArm); err != nil {
		t.Fatal(err)
	}
	return amd, arm, commitIndex(t, s, m1, m2)
}

func combine(t *testing.T, o CombineOptions) *Combined {
	t.Helper()
	comb, err := New(nil).Combine(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return comb
}

// The fan-out: two images pushed by digest into one repository, stitched
// into a tag without a blob moving; the index is the one a single build of
// both platforms makes, digest for digest.
func TestImagetoolsStitchesDigestsInOneRepo(t *testing.T) {
	ledger := newBlobLedger()
	reg := newTestRegistry(t, ledger.wrap)
	amd, arm, want := twoNodes(t, reg, "/team/app", "/team/app")
	if !strings.HasPrefix(amd, reg.host+"/team/app@sha256:") {
		t.Fatalf("PushByDigest returned %q, want repo@digest", amd)
	}
	if tags := listTags(t, reg.host+"/team/app"); len(tags) != 0 {
		t.Fatalf("pushing by digest made tags %v", tags)
	}
	reg.count.reset()
	comb := combine(t, CombineOptions{Sources: []IndexSource{{Ref: amd}, {Ref: arm}}, PreferIndex: true})
	if comb.Desc.Digest != want.Digest {
		t.Fatalf("stitched index %s, a single build's %s:\n%s", comb.Desc.Digest, want.Digest, comb.Raw)
	}
	if err := New(nil).PushCombined(context.Background(), comb, []string{reg.host + "/team/app:1"}); err != nil {
		t.Fatal(err)
	}
	// The two configs (for the platforms), nothing else.
	if n := reg.count.get("GET blob"); n != 2 {
		t.Errorf("read %d blobs, want the 2 configs only", n)
	}
	if n := reg.count.get("upload"); n != 0 {
		t.Errorf("%d upload requests, want none (the images are in the repository)", n)
	}
	if tags := listTags(t, reg.host+"/team/app"); len(tags) != 1 || tags[0] != "1" {
		t.Errorf("tags %v, want [1]", tags)
	}
	got, err := New(nil).Pull(context.Background(), newStore(t), reg.host+"/team/app:1", linuxArm64)
	if err != nil {
		t.Fatal(err)
	}
	if got.Digest != want.Digest {
		t.Errorf("team/app:1 is %s, want %s", got.Digest, want.Digest)
	}
}

func listTags(t *testing.T, repo string) []string {
	t.Helper()
	r, err := name.NewRepository(repo)
	if err != nil {
		t.Fatal(err)
	}
	tags, err := remote.List(r)
	if err != nil && !strings.Contains(err.Error(), "NAME_UNKNOWN") {
		t.Fatal(err)
	}
	return tags
}

// Sources in other repositories of the registry are copied by digest with
// cross-repository mounts: every layer is mounted, none uploaded or read.
func TestImagetoolsMountsAcrossRepos(t *testing.T) {
	ledger := newBlobLedger()
	reg := newTestRegistry(t, ledger.wrap)
	amd, arm, want := twoNodes(t, reg, "/nodes/amd64", "/nodes/arm64")
	uploads := len(ledger.uploads)
	reg.count.reset()
	comb := combine(t, CombineOptions{Sources: []IndexSource{{Ref: amd}, {Ref: arm}}, PreferIndex: true})
	if err := New(nil).PushCombined(context.Background(), comb, []string{reg.host + "/team/app:1", reg.host + "/team/app:latest"}); err != nil {
		t.Fatal(err)
	}
	if len(ledger.uploads) != uploads {
		t.Errorf("blobs were uploaded: %v", ledger.uploads)
	}
	// 2 layers and a config per image.
	if n := len(ledger.mounts); n != 6 {
		t.Errorf("%d blobs mounted, want 6: %v", n, ledger.mounts)
	}
	if n := reg.count.get("GET blob"); n != 2 {
		t.Errorf("read %d blobs, want the 2 configs only", n)
	}
	for _, tag := range []string{":1", ":latest"} {
		got, err := New(nil).Pull(context.Background(), newStore(t), reg.host+"/team/app"+tag, linuxAmd64)
		if err != nil {
			t.Fatal(err)
		}
		if got.Digest != want.Digest {
			t.Errorf("team/app%s is %s, want %s", tag, got.Digest, want.Digest)
		}
	}
}

func TestImagetoolsAppendAndAnnotations(t *testing.T) {
	reg := newTestRegistry(t, nil)
	amd, arm, _ := twoNodes(t, reg, "/team/app", "/team/app")
	c := New(nil)
	first := combine(t, CombineOptions{Sources: []IndexSource{{Ref: amd}}, PreferIndex: true})
	if err := c.PushCombined(context.Background(), first, []string{reg.host + "/team/app:1"}); err != nil {
		t.Fatal(err)
	}
	// --append: the tag's index is the first source.
	comb := combine(t, CombineOptions{
		Sources:               []IndexSource{{Ref: reg.host + "/team/app:1"}, {Ref: arm}},
		IndexAnnotations:      map[string]string{"org.opencontainers.image.source": "https://example.com/app"},
		DescriptorAnnotations: []DescriptorAnnotation{{Platform: &linuxArm64, Key: "com.example.arch", Value: "arm"}, {Key: "com.example.all", Value: "yes"}},
		PreferIndex:           true,
	})
	var idx ocispec.Index
	if err := json.Unmarshal(comb.Raw, &idx); err != nil {
		t.Fatal(err)
	}
	if len(idx.Manifests) != 2 || idx.Manifests[0].Platform.Architecture != "amd64" || idx.Manifests[1].Platform.Architecture != "arm64" {
		t.Fatalf("want amd64 then arm64, got %s", comb.Raw)
	}
	if idx.Annotations["org.opencontainers.image.source"] != "https://example.com/app" || idx.MediaType != ocispec.MediaTypeImageIndex {
		t.Errorf("index annotations: %s", comb.Raw)
	}
	if a := idx.Manifests[0].Annotations; a["com.example.all"] != "yes" || a["com.example.arch"] != "" {
		t.Errorf("amd64 entry annotations %v", a)
	}
	if a := idx.Manifests[1].Annotations; a["com.example.all"] != "yes" || a["com.example.arch"] != "arm" {
		t.Errorf("arm64 entry annotations %v", a)
	}
}

func TestImagetoolsSingleSource(t *testing.T) {
	reg := newTestRegistry(t, nil)
	amd, arm, want := twoNodes(t, reg, "/team/app", "/team/app")
	both := combine(t, CombineOptions{Sources: []IndexSource{{Ref: amd}, {Ref: arm}}, PreferIndex: true})
	if err := New(nil).PushCombined(context.Background(), both, []string{reg.host + "/team/app:multi"}); err != nil {
		t.Fatal(err)
	}
	// One index, no annotations: taken as it is.
	if c := combine(t, CombineOptions{Sources: []IndexSource{{Ref: reg.host + "/team/app:multi"}}, PreferIndex: true}); c.Desc.Digest != want.Digest || len(c.Manifests) != 2 {
		t.Errorf("an index source became %s (%d manifests), want %s as it is", c.Desc.Digest, len(c.Manifests), want.Digest)
	}
	// One manifest: an index of one, or with --prefer-index=false the manifest.
	if c := combine(t, CombineOptions{Sources: []IndexSource{{Ref: amd}}, PreferIndex: true}); c.Desc.MediaType != ocispec.MediaTypeImageIndex {
		t.Errorf("prefer-index: got a %s", c.Desc.MediaType)
	}
	if c := combine(t, CombineOptions{Sources: []IndexSource{{Ref: amd}}}); c.Desc.MediaType != ocispec.MediaTypeImageManifest || !strings.HasSuffix(amd, c.Desc.Digest.String()) {
		t.Errorf("prefer-index=false: got %s %s, want the manifest %s", c.Desc.MediaType, c.Desc.Digest, amd)
	}
}

// A descriptor source (-f): its fields override the registry's, a wrong
// size is an error.
func TestImagetoolsDescriptorSource(t *testing.T) {
	reg := newTestRegistry(t, nil)
	amd, _, _ := twoNodes(t, reg, "/team/app", "/team/app")
	repo, d, _ := strings.Cut(amd, "@")
	m, err := New(nil).GetManifest(context.Background(), amd)
	if err != nil {
		t.Fatal(err)
	}
	desc := m.Desc
	desc.Platform = &ocispec.Platform{OS: "linux", Architecture: "amd64", Variant: "v3"}
	comb := combine(t, CombineOptions{Sources: []IndexSource{{Ref: repo, Desc: desc}}, PreferIndex: true})
	var idx ocispec.Index
	json.Unmarshal(comb.Raw, &idx)
	if len(idx.Manifests) != 1 || idx.Manifests[0].Digest.String() != d || idx.Manifests[0].Platform.Variant != "v3" {
		t.Fatalf("got %s", comb.Raw)
	}
	desc.Size++
	_, err = New(nil).Combine(context.Background(), CombineOptions{Sources: []IndexSource{{Ref: repo, Desc: desc}}})
	if err == nil || !strings.Contains(err.Error(), "the descriptor says") {
		t.Fatalf("a wrong size: got %v", err)
	}
}

func TestPushByDigestRefusesATag(t *testing.T) {
	s := newStore(t)
	m := commitImage(t, s, linuxAmd64, 1)
	for _, name := range []string{"127.0.0.1:5000/app:1", "127.0.0.1:5000/app@" + m.Digest.String()} {
		if _, err := New(nil).PushByDigest(context.Background(), s, m, name); err == nil || !strings.Contains(err.Error(), "can't push tagged ref") {
			t.Errorf("%s: got %v", name, err)
		}
	}
}

// On a real registry (which checks that an index's manifests exist):
// stitching from two repositories, then pulling the tag.
func TestImagetoolsRealRegistry(t *testing.T) {
	host := startDockerRegistry(t)
	reg := &testRegistry{host: host}
	amd, arm, want := twoNodes(t, reg, "/nodes/amd64", "/nodes/arm64")
	comb := combine(t, CombineOptions{Sources: []IndexSource{{Ref: amd}, {Ref: arm}}, PreferIndex: true})
	if err := New(nil).PushCombined(context.Background(), comb, []string{host + "/team/app:1"}); err != nil {
		t.Fatal(err)
	}
	got, err := New(nil).Pull(context.Background(), newStore(t), host+"/team/app:1", linuxArm64)
	if err != nil {
		t.Fatal(err)
	}
	if got.Digest != want.Digest {
		t.Errorf("team/app:1 is %s, want %s", got.Digest, want.Digest)
	}
}

// Docker manifests make a Docker manifest list, which has no annotations:
// asking for them is an error (buildx drops them).
func TestImagetoolsDockerList(t *testing.T) {
	entries := []Placed{{Desc: ocispec.Descriptor{MediaType: dockerManifest, Digest: digest.Digest("sha256:" + strings.Repeat("1", 64)), Size: 10, Platform: &linuxAmd64}}}
	comb, err := newIndex(entries, CombineOptions{})
	if err != nil || comb.Desc.MediaType != dockerList || !strings.Contains(string(comb.Raw), `"mediaType":"`+dockerList+`"`) {
		t.Fatalf("got %v: %s", err, comb.Raw)
	}
	_, err = newIndex(entries, CombineOptions{IndexAnnotations: map[string]string{"k": "v"}})
	if err == nil || !strings.Contains(err.Error(), "annotations need an OCI index") {
		t.Fatalf("annotations on a Docker list: got %v", err)
	}
}
