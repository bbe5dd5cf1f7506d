package progress

import (
	"bytes"
	"regexp"
	"testing"
)

// Prefixed reporters (bake's targets) share one display: one numbering,
// every step named after its build as buildx names them, and a build's
// summary does not end the display.
func TestPrefixedReportersShareTheDisplay(t *testing.T) {
	var out bytes.Buffer
	r, _ := New(&out, "plain")
	dev, prod := r.WithPrefix("dev"), r.WithPrefix("prod")
	a := dev.Start("[base 2/2] RUN make")
	b := prod.Start("[internal] pull busybox")
	c := prod.Start("exporting")
	a.Done(nil)
	b.Cached()
	c.Done(nil)
	dev.Finish(Summary{Image: "app:dev", Digest: "sha256:d", Size: 1024, Layers: 2})
	dev.Close()
	d := prod.Start("[prod 1/1] COPY . .")
	d.Done(nil)
	got := regexp.MustCompile(`\d+\.\d+`).ReplaceAllString(out.String(), "T")
	want := "#1 [dev base 2/2] RUN make\n#2 [prod internal] pull busybox\n#3 [prod] exporting\n" +
		"#1 DONE Ts\n#2 CACHED\n#3 DONE Ts\n[dev] app:dev sha256:d, T KiB in 2 layers\n" +
		"#4 [prod prod 1/1] COPY . .\n#4 DONE Ts\n"
	if got != want {
		t.Fatalf("output:\n%s\nwant:\n%s", got, want)
	}
}
