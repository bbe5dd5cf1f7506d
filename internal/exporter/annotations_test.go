package exporter

import (
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestParseAnnotation(t *testing.T) {
	cases := []struct {
		in       string
		types    []string
		platform string
		key, val string
		bad      bool
	}{
		{in: "org.opencontainers.image.title=kiln", types: []string{"manifest"}, key: "org.opencontainers.image.title", val: "kiln"},
		{in: "index,manifest:a=b", types: []string{"index", "manifest"}, key: "a", val: "b"},
		{in: "manifest[linux/arm64]:a=b:c", types: []string{"manifest"}, platform: "linux/arm64", key: "a", val: "b:c"},
		{in: "org.example:kind=x", types: []string{"manifest"}, key: "org.example:kind", val: "x"},
		{in: "manifest-descriptor:k=v", types: []string{"manifest-descriptor"}, key: "k", val: "v"},
		{in: "index-descriptor:k=v", bad: true},
		{in: "novalue", bad: true},
	}
	for _, c := range cases {
		a, err := ParseAnnotation(c.in)
		if c.bad {
			if err == nil {
				t.Errorf("%s: want an error", c.in)
			}
			continue
		}
		if err != nil || a.Key != c.key || a.Value != c.val || len(a.Types) != len(c.types) {
			t.Errorf("%s: got %+v, %v", c.in, a, err)
			continue
		}
		for i := range c.types {
			if a.Types[i] != c.types[i] {
				t.Errorf("%s: types %v, want %v", c.in, a.Types, c.types)
			}
		}
		if (a.Platform == nil) != (c.platform == "") || (a.Platform != nil && a.Platform.OS+"/"+a.Platform.Architecture != c.platform) {
			t.Errorf("%s: platform %v, want %q", c.in, a.Platform, c.platform)
		}
	}
}

func TestAnnotationsFor(t *testing.T) {
	var all []Annotation
	for _, s := range []string{"a=1", "manifest[linux/arm64]:b=2", "index:c=3", "manifest-descriptor:d=4"} {
		a, err := ParseAnnotation(s)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, a)
	}
	amd := &ocispec.Platform{OS: "linux", Architecture: "amd64"}
	arm := &ocispec.Platform{OS: "linux", Architecture: "arm64"}
	if got := AnnotationsFor(all, "manifest", amd); len(got) != 1 || got["a"] != "1" {
		t.Errorf("amd64 manifest: %v", got)
	}
	if got := AnnotationsFor(all, "manifest", arm); len(got) != 2 || got["b"] != "2" {
		t.Errorf("arm64 manifest: %v", got)
	}
	if got := AnnotationsFor(all, "index", nil); len(got) != 1 || got["c"] != "3" {
		t.Errorf("index: %v", got)
	}
	if got := AnnotationsFor(all, "manifest-descriptor", amd); len(got) != 1 || got["d"] != "4" {
		t.Errorf("descriptor: %v", got)
	}
}

func TestOutputAnnotations(t *testing.T) {
	o, err := ParseOutput("type=oci,dest=a.tar,annotation.a=1,annotation-index.b=2,annotation-manifest[linux/arm64].c=3,annotation[linux/amd64].d=4")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"a": "manifest", "b": "index", "c": "manifest linux/arm64", "d": "manifest linux/amd64"}
	if len(o.Annotations) != len(want) || len(o.Attrs) != 0 {
		t.Fatalf("annotations %+v, attrs %v", o.Annotations, o.Attrs)
	}
	for _, a := range o.Annotations {
		got := a.Types[0]
		if a.Platform != nil {
			got += " " + a.Platform.OS + "/" + a.Platform.Architecture
		}
		if want[a.Key] != got || a.Value == "" {
			t.Errorf("%s: %q, want %q", a.Key, got, want[a.Key])
		}
	}
	if _, err := ParseOutput("type=oci,dest=a.tar,annotation-nosuch.k=v"); err == nil {
		t.Errorf("an unknown annotation type should be refused")
	}
}
