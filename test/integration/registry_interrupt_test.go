package integration

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/kiln-build/kiln/test/harness"
)

// cuttingProxy is an HTTP reverse proxy in front of a registry that, while
// cutting is on, drops the client's connection once cutAfter bytes of a blob
// upload body (PATCH or PUT to /blobs/uploads/) have gone through: the
// registry has received part of the blob, the client sees its connection
// reset in the middle of the upload.
type cuttingProxy struct {
	addr     string
	target   *url.URL
	cutAfter int64
	cutting  atomic.Bool

	mu   sync.Mutex
	cuts []string // "PATCH /v2/…" of each request cut
}

func startCuttingProxy(t *testing.T, registry string, cutAfter int64) *cuttingProxy {
	t.Helper()
	p := &cuttingProxy{target: &url.URL{Scheme: "http", Host: registry}, cutAfter: cutAfter}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = l.Addr().String()
	srv := &http.Server{Handler: p, ErrorLog: nil}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return p
}

func (p *cuttingProxy) cutRequests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.cuts...)
}

// cutReader passes a request body through until left bytes have been read,
// then fails.
type cutReader struct {
	r     io.ReadCloser
	left  int64
	fired atomic.Bool
}

var errCut = errors.New("test proxy: connection cut")

func (c *cutReader) Read(b []byte) (int, error) {
	if c.left <= 0 {
		c.fired.Store(true)
		return 0, errCut
	}
	if int64(len(b)) > c.left {
		b = b[:c.left]
	}
	n, err := c.r.Read(b)
	c.left -= int64(n)
	return n, err
}

func (c *cutReader) Close() error { return c.r.Close() }

func (p *cuttingProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var cr *cutReader
	if p.cutting.Load() && (r.Method == http.MethodPatch || r.Method == http.MethodPut) && strings.Contains(r.URL.Path, "/blobs/uploads/") {
		cr = &cutReader{r: r.Body, left: p.cutAfter}
		r.Body = cr
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(p.target)
			// The registry builds upload locations from Host: keep the
			// proxy's, so the client's next request comes through here too.
			pr.Out.Host = pr.In.Host
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if cr != nil && cr.fired.Load() {
				p.mu.Lock()
				p.cuts = append(p.cuts, r.Method+" "+r.URL.Path)
				p.mu.Unlock()
				// Close the client's connection without an answer.
				panic(http.ErrAbortHandler)
			}
			http.Error(w, err.Error(), http.StatusBadGateway)
		},
	}
	rp.ServeHTTP(w, r)
}

// TestRegistryPushInterrupted cuts the connection in the middle of a layer
// upload: kiln push fails with a message naming the registry and the blob,
// the registry holds no tag; pushing again (no cut) succeeds and the image
// pulled back has the pushed digest.
func TestRegistryPushInterrupted(t *testing.T) {
	t.Parallel()
	requireSuite(t)
	reg := harness.StartRegistry(t)
	// Past the busybox layer (about 1 MiB), inside the 4 MiB one.
	const cutAfter = 3 << 20
	proxy := startCuttingProxy(t, reg.Addr, cutAfter)
	cfg := harness.WriteKilnConfig(t, proxy.addr, false)

	// A 4 MiB layer of random bytes: it does not compress, so its upload
	// is well past the cut.
	df := regDockerfile(t, `FROM busybox:test
RUN head -c 4194304 /dev/urandom > /random.bin
`)
	ctx := t.TempDir()
	root := crashStore(t)
	mustKilnIn(t, root, "", "build", "--progress", "plain", "-f", df, "-t", "interrupt:src", ctx)
	pushed := storeDigest(t, root, "interrupt:src")

	ref := proxy.addr + "/team/cut:1"
	proxy.cutting.Store(true)
	r := kilnIn(t, root, cfg, "push", "interrupt:src", ref)
	proxy.cutting.Store(false)
	cuts := proxy.cutRequests()
	t.Logf("requests cut: %q", cuts)
	if len(cuts) == 0 {
		t.Fatalf("the proxy cut no upload (each was under %d bytes?):\n%s", cutAfter, r)
	}
	wantFailure(t, "interrupted push", r, ref, "uploading blob sha256:", "(4.0 MiB)", proxy.addr+"/team/cut", "tag was not written")

	// The registry itself (not through the proxy) has no tag.
	resp, err := http.Get("http://" + reg.Addr + "/v2/team/cut/manifests/1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("after the interrupted push, GET /v2/team/cut/manifests/1 answers %s, want 404 Not Found", resp.Status)
	}

	mustKilnIn(t, root, cfg, "push", "interrupt:src", ref)
	if got := remoteDigest(t, reg.Addr+"/team/cut:1"); got != pushed {
		t.Errorf("the registry has %s after the retry, the store %s", got, pushed)
	}
	fresh := filepath.Join(t.TempDir(), "store")
	out := mustKilnIn(t, fresh, harness.WriteKilnConfig(t, reg.Addr, false), "pull", reg.Addr+"/team/cut:1")
	if got := strings.TrimSpace(out.Stdout); got != pushed {
		t.Errorf("pulled %s, pushed %s", got, pushed)
	}
}
