package exporter

import "testing"

func TestParseOutput(t *testing.T) {
	cases := []struct {
		in, typ, dest, push string
		bad                 bool
	}{
		{in: "out", typ: "local", dest: "out"},
		{in: "type=oci,dest=a.tar", typ: "oci", dest: "a.tar"},
		{in: "type=registry,name=r:5000/a:1", typ: "image", push: "true"},
		{in: "type=image,name=a:1,push=true", typ: "image", push: "true"},
		{in: "type=oci", bad: true},
		{in: "type=nosuch,dest=x", bad: true},
		{in: "type=oci,dest=a.tar,oci-mediatypes=false", bad: true},
		{in: "type=image,name=r:5000/a,push-by-digest=true,push=true", typ: "image", push: "true"},
		{in: "type=image,name=r:5000/a,name-canonical=1", typ: "image"},
		{in: "type=image,name=r:5000/a:v1,push-by-digest=true,push=true", bad: true},
		{in: "type=image,name=r:5000/a,push-by-digest=maybe", bad: true},
	}
	for _, c := range cases {
		o, err := ParseOutput(c.in)
		if c.bad {
			if err == nil {
				t.Errorf("%s: want an error", c.in)
			}
			continue
		}
		if err != nil || o.Type != c.typ || o.Dest != c.dest || o.Attrs["push"] != c.push {
			t.Errorf("%s: got %+v, %v; want type %s dest %q push %q", c.in, o, err, c.typ, c.dest, c.push)
		}
	}
}
