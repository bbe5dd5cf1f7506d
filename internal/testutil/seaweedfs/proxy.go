package seaweedfs

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// Proxy is an HTTP reverse proxy on a loopback port in front of a server's
// S3 gateway. It records every request and, while cutting is on, drops the
// client's connection once CutAfter bytes of an upload body (a PUT whose
// path contains CutPath) have gone through: the server has part of the
// object, the client sees its connection die mid-upload. The Host header
// is kept, so signatures made for the proxy's address still verify.
type Proxy struct {
	Endpoint string // http://127.0.0.1:PORT
	CutAfter int64
	CutPath  string
	cutting  atomic.Bool
	target   *url.URL

	mu       sync.Mutex
	requests []Request
}

// Request is one request the proxy passed on (or cut).
type Request struct {
	Method, Path string
	Copy         bool // a server-side copy (x-amz-copy-source), no body
	Cut          bool
}

func (r Request) String() string {
	s := r.Method + " " + r.Path
	if r.Copy {
		s += " (copy)"
	}
	if r.Cut {
		s += " (cut)"
	}
	return s
}

// StartProxy starts a proxy in front of srv; t.Cleanup stops it.
func StartProxy(t testing.TB, srv *Server) *Proxy {
	t.Helper()
	target, err := url.Parse(srv.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{target: target}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.Endpoint = "http://" + l.Addr().String()
	hs := &http.Server{Handler: p}
	go hs.Serve(l)
	t.Cleanup(func() { hs.Close() })
	return p
}

// Cut turns cutting on or off.
func (p *Proxy) Cut(on bool) { p.cutting.Store(on) }

// Requests are the requests so far, in the order they arrived.
func (p *Proxy) Requests() []Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Request(nil), p.requests...)
}

// Reset forgets the requests so far.
func (p *Proxy) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.requests = nil
}

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := Request{Method: r.Method, Path: r.URL.Path, Copy: r.Header.Get("X-Amz-Copy-Source") != ""}
	var cr *cutReader
	if p.cutting.Load() && r.Method == http.MethodPut && !rec.Copy && strings.Contains(r.URL.Path, p.CutPath) {
		cr = &cutReader{r: r.Body, left: p.CutAfter}
		r.Body = cr
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(p.target)
			pr.Out.Host = pr.In.Host
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if cr != nil && cr.fired.Load() {
				rec.Cut = true
				p.record(rec)
				panic(http.ErrAbortHandler) // close the connection without an answer
			}
			http.Error(w, err.Error(), http.StatusBadGateway)
		},
	}
	rp.ServeHTTP(w, r)
	if !rec.Cut {
		p.record(rec)
	}
}

func (p *Proxy) record(r Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.requests = append(p.requests, r)
}

var errCut = errors.New("test proxy: connection cut")

// cutReader passes a body through until left bytes have been read, then
// fails.
type cutReader struct {
	r     io.ReadCloser
	left  int64
	fired atomic.Bool
}

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
