package integration

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kiln-build/kiln/test/harness"
)

// pattern4Npm is the seed's Pattern 4 "Node.js with npm cache", verbatim
// but for two lines: FROM names the local node image (made from the host's
// node and npm), and an ENV points npm at the test's loopback registry
// (the image's global npmrc says offline=true).
const pattern4Npm = `# syntax=docker/dockerfile:1.4
FROM %s AS builder
WORKDIR /app
ENV npm_config_offline=false npm_config_registry=%s

COPY package*.json ./

# Cache npm packages between builds
RUN --mount=type=cache,target=/root/.npm \
    npm ci

COPY . .
RUN npm run build
`

// TestNpmCacheMountReusedAcrossDependencyChange: build 1 depends on A; build
// 2 on A and B. The npm ci step re-runs (its package files changed), B is
// downloaded, A is not: npm finds it in the cache mount /root/.npm, which
// no layer holds.
func TestNpmCacheMountReusedAcrossDependencyChange(t *testing.T) {
	t.Parallel()
	nodeBaseImages(t)
	suffix := fmt.Sprint(time.Now().UnixNano())
	a, b := "kcm-a-"+suffix, "kcm-b-"+suffix
	reg := startNpmRegistry(t, a, b)
	df := fmt.Sprintf(pattern4Npm, nodeLocalImage, reg.url)
	ctx := t.TempDir()
	writeFiles(t, ctx, map[string]string{"index.js": "console.log('app')\n"})

	build := func(deps ...string) {
		t.Helper()
		writeFiles(t, ctx, reg.appFiles(deps...))
		r, img := mustBuild(t, buildSpec{Context: ctx, Dockerfile: df, Tag: "cachemount:npm"})
		rootfs := img.Rootfs(t)
		for _, d := range deps {
			if got := readImageFile(t, rootfs, "/app/node_modules/"+d+"/index.js"); !strings.Contains(got, d) {
				t.Errorf("node_modules/%s/index.js = %q", d, got)
			}
		}
		if !exists(t, rootfs, "/app/dist/index.js") {
			t.Errorf("npm run build made no dist: %v", listTree(t, rootfs, "/app"))
		}
		reg.assertNotInLayers(t, img)
		n, cached := countStepVertices(r.Stderr, npmCIStep)
		if n != 1 || cached != 0 {
			t.Errorf("RUN npm ci: %d vertices, %d cached; want it run:\n%s", n, cached, r.Stderr)
		}
	}

	build(a)
	if got := reg.downloads(); got[a] != 1 || got[b] != 0 {
		t.Fatalf("build 1 tarball downloads %v, want %s once", got, a)
	}
	build(a, b)
	if got := reg.downloads(); got[a] != 1 || got[b] != 1 {
		t.Errorf("build 2 tarball downloads %v, want %s still once (from the cache mount) and %s once", got, a, b)
	}
	t.Logf("registry requests: %s", strings.Join(reg.requests(), ", "))
}

// npmRegistry serves packuments and tarballs of packages made by the test,
// each version 1.0.0 with an index.js naming the package, and counts the
// tarball downloads.
type npmRegistry struct {
	url      string
	tarballs map[string][]byte

	requestLog
}

func startNpmRegistry(t *testing.T, names ...string) *npmRegistry {
	t.Helper()
	r := &npmRegistry{tarballs: map[string][]byte{}}
	for _, n := range names {
		r.tarballs[n] = npmTarball(t, n)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.url = "http://" + ln.Addr().String() + "/"
	srv := &http.Server{Handler: http.HandlerFunc(r.serve)}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return r
}

func (r *npmRegistry) serve(w http.ResponseWriter, req *http.Request) {
	r.saw(req.Method + " " + req.URL.Path)
	name, file, isTarball := strings.Cut(strings.TrimPrefix(req.URL.Path, "/"), "/-/")
	tgz, ok := r.tarballs[name]
	switch {
	case !ok:
		http.NotFound(w, req)
	case isTarball && file == name+"-1.0.0.tgz":
		r.downloaded(name)
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(tgz)
	case !isTarball:
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(r.packument(name))
	default:
		http.NotFound(w, req)
	}
}

func (r *npmRegistry) tarballURL(name string) string {
	return r.url + name + "/-/" + name + "-1.0.0.tgz"
}

func (r *npmRegistry) integrity(name string) string {
	sum := sha512.Sum512(r.tarballs[name])
	return "sha512-" + base64.StdEncoding.EncodeToString(sum[:])
}

func (r *npmRegistry) packument(name string) any {
	sha := sha1.Sum(r.tarballs[name])
	return map[string]any{
		"name":      name,
		"dist-tags": map[string]string{"latest": "1.0.0"},
		"versions": map[string]any{"1.0.0": map[string]any{
			"name": name, "version": "1.0.0", "main": "index.js",
			"dist": map[string]string{"tarball": r.tarballURL(name), "integrity": r.integrity(name), "shasum": hex.EncodeToString(sha[:])},
		}},
	}
}

// npmCIStep is the npm ci RUN as BuildKit names it: the instruction as
// written, flags and continuation included.
const npmCIStep = "RUN --mount=type=cache,target=/root/.npm     npm ci"

// appFiles is an app's package.json and package-lock.json (what npm ci
// needs) depending on deps.
func (r *npmRegistry) appFiles(deps ...string) map[string]string {
	want := map[string]string{}
	packages := map[string]any{}
	for _, d := range deps {
		want[d] = "1.0.0"
		packages["node_modules/"+d] = map[string]string{"version": "1.0.0", "resolved": r.tarballURL(d), "integrity": r.integrity(d)}
	}
	packages[""] = map[string]any{"name": "app", "version": "1.0.0", "dependencies": want}
	pkg := map[string]any{"name": "app", "version": "1.0.0", "private": true, "dependencies": want,
		"scripts": map[string]string{"build": "mkdir -p dist && cp index.js dist/index.js"}}
	lock := map[string]any{"name": "app", "version": "1.0.0", "lockfileVersion": 3, "requires": true, "packages": packages}
	enc := func(v any) string {
		data, _ := json.MarshalIndent(v, "", "  ")
		return string(data) + "\n"
	}
	return map[string]string{"package.json": enc(pkg), "package-lock.json": enc(lock)}
}

// assertNotInLayers fails if a layer of img holds one of the registry's
// tarballs: npm's cache stores them whole (content-v2), so a cache mount
// that leaked into a layer would show them.
func (r *npmRegistry) assertNotInLayers(t *testing.T, img *ociImage) {
	t.Helper()
	for _, l := range img.Manifest.Layers {
		for path, e := range harness.ReadLayer(t, img.Blob(l.Digest)) {
			for name, tgz := range r.tarballs {
				if bytes.Equal(e.Data, tgz) {
					t.Errorf("layer %s holds %s's tarball at %s: the cache mount leaked", l.Digest, name, path)
				}
			}
		}
	}
}

// npmTarball is an npm package tarball: package/package.json and
// package/index.js, with fixed times so it is the same every run.
func npmTarball(t *testing.T, name string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, f := range []struct{ name, data string }{
		{"package/package.json", fmt.Sprintf(`{"name": %q, "version": "1.0.0", "main": "index.js"}`+"\n", name)},
		{"package/index.js", fmt.Sprintf("module.exports = () => %q;\n", name)},
	} {
		hdr := &tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.data)), ModTime: time.Unix(499162500, 0), Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(f.data))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
