package integration

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/kiln-build/kiln/test/harness"
)

// pattern4Go is the seed's Pattern 4 "Go with module cache" with the
// module cache mounted on the build step too (the seed's go build does not
// mount /go/pkg/mod, so it could not see what go mod download put there),
// and an ENV pointing the go command at the test's loopback GOPROXY.
const pattern4Go = `# syntax=docker/dockerfile:1.4
FROM golang:1.22-alpine AS builder
WORKDIR /app
ENV GOPATH=/go GOCACHE=/root/.cache/go-build GOPROXY=%s GOSUMDB=off GOTOOLCHAIN=local

COPY go.mod go.sum ./

# Cache Go modules between builds
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download

COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -o /server
`

// TestGoModCacheMountReusedAcrossDependencyChange: as the npm test, with a
// GOPROXY served by the test: build 2 adds module B; go mod download re-runs
// and fetches only B's zip, A's comes from the cache mount.
func TestGoModCacheMountReusedAcrossDependencyChange(t *testing.T) {
	t.Parallel()
	requireSuite(t, harness.Golang) // not GolangWarm: its go-build cache would be in the image
	suffix := fmt.Sprint(time.Now().UnixNano())
	a, b := "kiln.test/kcm"+suffix+"/a", "kiln.test/kcm"+suffix+"/b"
	proxy := startGoProxy(t, a, b)
	df := fmt.Sprintf(pattern4Go, proxy.url)
	ctx := t.TempDir()

	build := func(mods ...string) {
		t.Helper()
		writeFiles(t, ctx, proxy.appFiles(mods...))
		r, img := mustBuild(t, buildSpec{Context: ctx, Dockerfile: df, Tag: "cachemount:gomod"})
		rootfs := img.Rootfs(t)
		if !exists(t, rootfs, "/server") {
			t.Errorf("no /server in the image")
		}
		for _, dir := range []string{"/go", "/root/.cache/go-build"} {
			if exists(t, rootfs, dir) {
				t.Errorf("the cache mount %s is in the image: %v", dir, listTree(t, rootfs, dir))
			}
		}
		proxy.assertNotInLayers(t, img)
		for _, step := range []string{
			// As BuildKit names them: flags and continuations as written.
			"RUN --mount=type=cache,target=/go/pkg/mod     go mod download",
			"RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build     CGO_ENABLED=0 go build -o /server",
		} {
			if n, cached := countStepVertices(r.Stderr, step); n != 1 || cached != 0 {
				t.Errorf("%s: %d vertices, %d cached; want it run:\n%s", step, n, cached, r.Stderr)
			}
		}
	}
	build(a)
	if got := proxy.downloads(); got[a] != 1 || got[b] != 0 {
		t.Fatalf("build 1 zip downloads %v, want %s once", got, a)
	}
	build(a, b)
	if got := proxy.downloads(); got[a] != 1 || got[b] != 1 {
		t.Errorf("build 2 zip downloads %v, want %s still once (from the cache mount) and %s once", got, a, b)
	}
	t.Logf("proxy requests: %s", strings.Join(proxy.requests(), ", "))
}

// goProxy serves modules by the GOPROXY protocol (@v/list, .info, .mod,
// .zip), each v1.0.0 with one package exporting Name, and counts zips.
type goProxy struct {
	url  string
	zips map[string][]byte // module → its v1.0.0 zip

	requestLog
}

func startGoProxy(t *testing.T, mods ...string) *goProxy {
	t.Helper()
	p := &goProxy{zips: map[string][]byte{}}
	for _, m := range mods {
		p.zips[m] = goModZip(t, m)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.url = "http://" + ln.Addr().String()
	srv := &http.Server{Handler: http.HandlerFunc(p.serve)}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return p
}

func (p *goProxy) serve(w http.ResponseWriter, req *http.Request) {
	p.saw(req.URL.Path)
	mod, file, _ := strings.Cut(strings.TrimPrefix(req.URL.Path, "/"), "/@v/")
	zip, ok := p.zips[mod]
	if !ok {
		http.NotFound(w, req)
		return
	}
	switch file {
	case "list":
		fmt.Fprintln(w, "v1.0.0")
	case "v1.0.0.info":
		fmt.Fprintln(w, `{"Version":"v1.0.0","Time":"1985-10-26T08:15:00Z"}`)
	case "v1.0.0.mod":
		fmt.Fprint(w, goModFile(mod))
	case "v1.0.0.zip":
		p.downloaded(mod)
		w.Write(zip)
	default:
		http.NotFound(w, req)
	}
}

func goModFile(mod string) string { return "module " + mod + "\n\ngo 1.22\n" }

// goModZip is a module zip: mod@v1.0.0/go.mod and mod@v1.0.0/x.go.
func goModZip(t *testing.T, mod string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	pkg := mod[strings.LastIndex(mod, "/")+1:]
	for _, f := range []struct{ name, data string }{
		{"go.mod", goModFile(mod)},
		{"x.go", "package " + pkg + "\n\nconst Name = " + fmt.Sprintf("%q", mod) + "\n"},
	} {
		w, err := zw.Create(mod + "@v1.0.0/" + f.name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(f.data))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// h1 is the go.sum hash (golang.org/x/mod/sumdb/dirhash.Hash1) of files.
func h1(files map[string]string) string {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	sum := sha256.New()
	for _, n := range names {
		fmt.Fprintf(sum, "%x  %s\n", sha256.Sum256([]byte(files[n])), n)
	}
	return "h1:" + base64.StdEncoding.EncodeToString(sum.Sum(nil))
}

// appFiles is a main module requiring mods, with a complete go.sum.
func (p *goProxy) appFiles(mods ...string) map[string]string {
	var req, sum, imports, uses strings.Builder
	for _, m := range mods {
		pkg := m[strings.LastIndex(m, "/")+1:]
		fmt.Fprintf(&req, "require %s v1.0.0\n", m)
		prefix := m + "@v1.0.0/"
		fmt.Fprintf(&sum, "%s v1.0.0 %s\n", m, h1(map[string]string{
			prefix + "go.mod": goModFile(m),
			prefix + "x.go":   "package " + pkg + "\n\nconst Name = " + fmt.Sprintf("%q", m) + "\n",
		}))
		fmt.Fprintf(&sum, "%s v1.0.0/go.mod %s\n", m, h1(map[string]string{"go.mod": goModFile(m)}))
		fmt.Fprintf(&imports, "\t%q\n", m)
		fmt.Fprintf(&uses, "\tfmt.Println(%s.Name)\n", pkg)
	}
	return map[string]string{
		"go.mod":  "module app\n\ngo 1.22\n\n" + req.String(),
		"go.sum":  sum.String(),
		"main.go": "package main\n\nimport (\n\t\"fmt\"\n" + imports.String() + ")\n\nfunc main() {\n" + uses.String() + "}\n",
	}
}

// assertNotInLayers fails if a layer holds a module zip (the go command
// keeps them whole in pkg/mod/cache/download).
func (p *goProxy) assertNotInLayers(t *testing.T, img *ociImage) {
	t.Helper()
	for _, l := range img.Manifest.Layers {
		for path, e := range harness.ReadLayer(t, img.Blob(l.Digest)) {
			for mod, zip := range p.zips {
				if bytes.Equal(e.Data, zip) {
					t.Errorf("layer %s holds %s's zip at %s: the cache mount leaked", l.Digest, mod, path)
				}
			}
		}
	}
}
