package progress

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// fakeClock is a clock the test moves by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time       { return c.t }
func (c *fakeClock) tick(d time.Duration) { c.t = c.t.Add(d) }
func (c *fakeClock) tickMs(ms int)        { c.tick(time.Duration(ms) * time.Millisecond) }
func newFakeClock() *fakeClock            { return &fakeClock{t: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)} }
func (c *fakeClock) reporter(t *testing.T, out *bytes.Buffer, mode string) *Reporter {
	t.Helper()
	r, err := newWithClock(out, mode, c.now)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// playBuild feeds one build's events: a warning, a pull, two stages whose
// steps interleave, a cached step, a step with output (a secret in it, and
// a last line without a newline), a failed step, a note and the summary.
func playBuild(r *Reporter, c *fakeClock) {
	r.Mask("hunter2")
	r.Warn("%s:%d: %s: %s", "Dockerfile", 3, "UndefinedVar", "Usage of undefined variable '$VERSON'")
	pull := r.Start("[internal] load metadata for docker.io/library/busybox:test")
	c.tickMs(120)
	pull.Done(nil)
	// A pull's bytes: reported at most once a second in plain and rawjson.
	blobs := r.Start("[internal] pull docker.io/library/busybox:test (linux/amd64)")
	counter := blobs.NewCounter(3 << 20)
	counter.Add(1 << 20)
	c.tickMs(500)
	counter.Add(1 << 20)
	c.tickMs(700)
	counter.Add(1 << 20)
	blobs.Done(nil)

	a := r.Start("[deps 1/3] FROM docker.io/library/busybox:test")
	b := r.Start("[build 1/3] FROM docker.io/library/busybox:test")
	a.Done(nil)
	b.Done(nil)
	r.Start("[deps 2/3] COPY go.mod .").Cached()
	a2 := r.Start("[deps 3/3] RUN fetch-deps")
	b2 := r.Start("[build 2/3] RUN make")
	c.tickMs(250)
	a2.Write([]byte("fetching 3 modules\n"))
	c.tickMs(50)
	b2.Write([]byte("cc -o app main.c\ntoken=hunter2\npartial "))
	c.tickMs(400)
	a2.Write([]byte("done\n"))
	a2.Done(nil)
	c.tickMs(300)
	b2.Write([]byte("line\n"))
	b2.Done(nil)

	b3 := r.Start("[build 3/3] COPY --from=deps /deps /deps")
	c.tickMs(80)
	b3.Done(nil)
	f := r.Start("[test 1/1] RUN ./app --self-test")
	c.tickMs(1500)
	f.Logf("self-test failed: %d of %d", 1, 12)
	f.Done(errors.New("process \"/bin/sh -c ./app --self-test\" did not complete successfully: exit code: 1"))

	r.Note("%d steps, %d cached", 5, 1)
	c.tick(2 * time.Second)
	r.Finish(Summary{Image: "app:test", Digest: "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", Size: 3<<20 + 200<<10, Layers: 3})
}

func TestGoldenPlain(t *testing.T)   { testGolden(t, "plain") }
func TestGoldenRawJSON(t *testing.T) { testGolden(t, "rawjson") }

// testGolden compares a renderer's output for playBuild with
// testdata/<mode>.golden; -update rewrites the file.
func testGolden(t *testing.T, mode string) {
	var out bytes.Buffer
	c := newFakeClock()
	r := c.reporter(t, &out, mode)
	playBuild(r, c)
	r.Close()
	path := filepath.Join("testdata", mode+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Errorf("%s output differs from %s (go test ./internal/progress -run TestGolden -update rewrites it):\n got:\n%s\nwant:\n%s", mode, path, out.Bytes(), want)
	}
	if bytes.Contains(out.Bytes(), []byte("hunter2")) {
		t.Errorf("%s output shows a masked secret", mode)
	}
}
