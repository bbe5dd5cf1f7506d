package scan

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// writeRootfs makes a small image filesystem with one package of each kind
// the scanner must find. Its dpkg database is behind an absolute symlink, as
// in images that move /var/lib, and its /etc/os-release is an absolute
// symlink, as in Debian's and Alpine's images: a scan must resolve them in
// the image, never on the scanner's host (which has both paths too).
func writeRootfs(t *testing.T, root string) {
	t.Helper()
	files := map[string]string{
		"usr/lib/os-release":                     "ID=debian\nVERSION_ID=11\nPRETTY_NAME=\"Debian GNU/Linux 11 (bullseye)\"\n",
		"lib/apk/db/installed":                   apkDB,
		"var/lib/dpkg-real/status":               dpkgStatus,
		"app/package.json":                       `{"name":"app","version":"1.0.0","dependencies":{"left-pad":"1.3.0"}}`,
		"app/package-lock.json":                  npmLock,
		"app/node_modules/left-pad/package.json": `{"name":"left-pad","version":"1.3.0","license":"WTFPL"}`,
		"srv/node_modules/is-odd/package.json":   `{"name":"is-odd","version":"3.0.1","license":"MIT"}`,
		"usr/lib/python3.11/site-packages/requests-2.31.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: requests\nVersion: 2.31.0\nLicense: Apache 2.0\n",
		"usr/lib/python3.11/site-packages/requests-2.31.0.dist-info/RECORD":   "requests/__init__.py,,\n",
		"usr/lib/python3.11/site-packages/requests/__init__.py":               "",
	}
	for name, data := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{"var/lib/dpkg": "/var/lib/dpkg-real", "etc/os-release": "/usr/lib/os-release"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, link)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	buildGoBinary(t, filepath.Join(root, "usr/local/bin/hello"))
}

const apkDB = `C:Q1kiln0000000000000000000000000=
P:kiln-fixture-apk
V:1.2.3-r0
A:x86_64
S:1000
I:2000
T:a package the scanner must find in an apk database
U:https://example.com/apk
L:MIT
o:kiln-fixture-apk
t:1700000000

`

const dpkgStatus = `Package: kiln-fixture-dpkg
Status: install ok installed
Priority: optional
Section: misc
Installed-Size: 12
Maintainer: kiln <kiln@example.com>
Architecture: amd64
Version: 4.5.6-1
Description: a package the scanner must find in a dpkg database

`

const npmLock = `{
  "name": "app",
  "version": "1.0.0",
  "lockfileVersion": 3,
  "requires": true,
  "packages": {
    "": {"name": "app", "version": "1.0.0", "dependencies": {"left-pad": "1.3.0", "lodash.kiln": "4.17.21"}},
    "node_modules/left-pad": {"version": "1.3.0", "resolved": "https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz", "license": "WTFPL"},
    "node_modules/lodash.kiln": {"version": "4.17.21", "resolved": "https://registry.npmjs.org/lodash.kiln/-/lodash.kiln-4.17.21.tgz", "license": "MIT"}
  }
}
`

// buildGoBinary builds a program that depends on go-digest, from the module
// cache (no network): its build information names both modules.
func buildGoBinary(t *testing.T, out string) {
	t.Helper()
	src := t.TempDir()
	sum, err := os.ReadFile(filepath.Join("..", "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(sum), "\n") {
		if strings.HasPrefix(l, "github.com/opencontainers/go-digest v1.0.0") {
			lines = append(lines, l)
		}
	}
	files := map[string]string{
		"go.mod":  "module example.com/hello\n\ngo 1.22\n\nrequire github.com/opencontainers/go-digest v1.0.0\n",
		"go.sum":  strings.Join(lines, "\n") + "\n",
		"main.go": "package main\n\nimport (\n\t_ \"crypto/sha256\"\n\n\t\"github.com/opencontainers/go-digest\"\n)\n\nfunc main() { println(digest.FromString(\"hello\")) }\n",
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(src, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("go", "build", "-o", out, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off", "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the Go fixture: %v\n%s", err, msg)
	}
}
