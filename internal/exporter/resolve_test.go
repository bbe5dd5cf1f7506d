package exporter

import (
	"fmt"
	"strings"
	"testing"
)

// Resolve maps every flag to its exporter once, in the order they run, and
// refuses before the build what the build could not export.
func TestResolve(t *testing.T) {
	var outs []Output
	for _, s := range []string{"type=oci,dest=a.tar", "type=docker,dest=d.tar", "dir", "type=tar,dest=fs.tar", "type=registry,name=r:5000/a"} {
		o, err := ParseOutput(s)
		if err != nil {
			t.Fatal(err)
		}
		outs = append(outs, o)
	}
	exps, err := Resolve(outs, ResolveOptions{Tags: []string{"a:1", "b:2"}, Push: true, Load: true, Platforms: 1})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range exps {
		got = append(got, fmt.Sprintf("%T %s", e, e.Name()))
	}
	want := []string{
		"exporter.ociArchive exporting to oci a.tar",
		"exporter.dockerArchive exporting to docker d.tar",
		"exporter.localDir exporting to local dir",
		"exporter.fsTar exporting to tar fs.tar",
		"exporter.storeImage exporting to image ",
		"exporter.registryPush ", "exporter.registryPush ",
		"exporter.dockerLoad ",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("exporters:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if p := exps[5].(registryPush); p.name != "a:1" {
		t.Errorf("first push is %q, want a:1", p.name)
	}
	if !exps[4].(storeImage).attr("push") {
		t.Error("type=registry does not push")
	}

	tarOut, _ := ParseOutput("type=tar,dest=x.tar")
	for _, tc := range []struct {
		outs []Output
		o    ResolveOptions
		want string
	}{
		{[]Output{tarOut}, ResolveOptions{Platforms: 2}, "type=tar with several platforms"},
		{nil, ResolveOptions{Load: true, Platforms: 2}, "--load takes one platform"},
		{[]Output{{Type: "nosuch"}}, ResolveOptions{Platforms: 1}, "type=nosuch is not supported yet"},
	} {
		if _, err := Resolve(tc.outs, tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Resolve(%+v, %+v) = %v, want %q", tc.outs, tc.o, err, tc.want)
		}
	}
}
