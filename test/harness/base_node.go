package harness

import (
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kiln-build/kiln/internal/testutil"
)

// NodePackages are the packages pre-loaded into Node's npm cache
// (/root/.npm), each version 1.0.0 with an index.js, so `npm ci` installs
// them offline, as it would from a registry: a dependency and a
// devDependency of the example Node app.
var NodePackages = []struct{ Name, Main string }{
	{"kiln-greet", `module.exports = () => "greet 1.0.0";` + "\n"},
	{"kiln-devtool", `module.exports = () => "devtool 1.0.0";` + "\n"},
}

// nodeNPMRC is the node image's global npm config: never touch the network
// (the packages come from the pre-loaded cache), no audit, no fund, no
// update check.
const nodeNPMRC = `offline=true
audit=false
fund=false
update-notifier=false
`

// Node is a node image from the host's node and npm: a busybox root
// filesystem plus /usr/bin/node, the glibc libraries `ldd` lists, npm's
// script tree, the CA bundle, a global npmrc (offline) and an npm cache
// holding NodePackages, uncompressed. NodeIntegrity gives the packages'
// integrity for a package-lock.json.
var Node = &Base{
	Name: "kiln-test/node:20",
	slug: "node",
	need: func(testing.TB) string {
		for _, p := range []string{"/usr/bin/node", "/usr/lib/node_modules/npm/bin/npm-cli.js"} {
			if _, err := os.Stat(p); err != nil {
				return "needs the host's node and npm (apt-get install nodejs npm): " + err.Error()
			}
		}
		return Missing("ldd")
	},
	make: func(t testing.TB, b *Base, dir string, st Opts) string {
		b.rootfs = filepath.Join(dir, "node")
		testutil.BusyboxRootfs(t, b.rootfs)
		addHostNode(t, b.rootfs)
		b.extra = addNpmCache(t, b.rootfs, filepath.Join(dir, "packages"))
		return importRootfs(t, st, b.rootfs, b.Name, "--compression", "uncompressed")
	},
}

// NodeIntegrity returns the sha512 SRI of a NodePackages tarball, as a
// package-lock.json's "integrity" names it.
func NodeIntegrity(t testing.TB, pkg string) string {
	t.Helper()
	Node.ensure(t)
	sri, ok := Node.extra.(map[string]string)[pkg]
	if !ok {
		t.Fatalf("%s is not one of the NodePackages", pkg)
	}
	return sri
}

// Curl stands in for curlimages/curl: a busybox root filesystem whose
// /usr/bin/curl prints CurlBanner.
var Curl = &Base{
	Name: "kiln-test/curl:latest",
	slug: "curl",
	make: func(t testing.TB, b *Base, dir string, st Opts) string {
		b.rootfs = filepath.Join(dir, "curl")
		testutil.BusyboxRootfs(t, b.rootfs)
		MkdirAll(t, filepath.Join(b.rootfs, "usr", "bin"))
		WriteFile(t, filepath.Join(b.rootfs, "usr", "bin", "curl"), "#!/bin/sh\necho '"+CurlBanner+"'\n", 0o755)
		return importRootfs(t, st, b.rootfs, b.Name)
	},
}

// CurlBanner is what Curl's /usr/bin/curl prints.
const CurlBanner = "curl 8.0.0 (kiln-it stand-in)"

// BusyboxUclibc stands in for busybox:uclibc: as Docker Hub's busybox
// images, its /bin/sh and /bin/wget are hard links of /bin/busybox (regular
// files), not symlinks.
var BusyboxUclibc = &Base{
	Name: "kiln-test/busybox:uclibc",
	slug: "uclibc",
	make: func(t testing.TB, b *Base, dir string, st Opts) string {
		b.rootfs = filepath.Join(dir, "uclibc")
		testutil.BusyboxRootfs(t, b.rootfs)
		for _, applet := range []string{"sh", "wget"} {
			p := filepath.Join(b.rootfs, "bin", applet)
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			if err := os.Link(filepath.Join(b.rootfs, "bin", "busybox"), p); err != nil {
				t.Fatal(err)
			}
		}
		return importRootfs(t, st, b.rootfs, b.Name)
	},
}

var lddPath = regexp.MustCompile(`(?m)(?:=>\s*)?(/\S+)\s+\(0x`)

// addHostNode copies the host's node, its shared libraries and the dynamic
// loader (at the paths ldd names), npm, and the CA bundle into rootfs.
func addHostNode(t testing.TB, rootfs string) {
	t.Helper()
	out, err := exec.Command("ldd", "/usr/bin/node").CombinedOutput()
	if err != nil {
		t.Fatalf("ldd /usr/bin/node: %v\n%s", err, out)
	}
	files := []string{"/usr/bin/node", "/etc/ssl/certs/ca-certificates.crt"}
	for _, m := range lddPath.FindAllStringSubmatch(string(out), -1) {
		files = append(files, m[1])
	}
	if len(files) < 4 {
		t.Fatalf("ldd /usr/bin/node lists too few libraries:\n%s", out)
	}
	for _, f := range files {
		dst := filepath.Join(rootfs, f)
		MkdirAll(t, filepath.Dir(dst))
		// -L: the file itself at the path ldd names (Debian's /lib is a
		// symlink to /usr/lib, the busybox rootfs has neither).
		if out, err := exec.Command("cp", "-L", "--preserve=mode", f, dst).CombinedOutput(); err != nil {
			t.Fatalf("copying %s: %v\n%s", f, err, out)
		}
	}
	npm, err := filepath.EvalSymlinks("/usr/lib/node_modules/npm")
	if err != nil {
		t.Fatal(err)
	}
	mods := filepath.Join(rootfs, "usr", "lib", "node_modules")
	MkdirAll(t, mods)
	if out, err := exec.Command("cp", "-a", npm, filepath.Join(mods, "npm")).CombinedOutput(); err != nil {
		t.Fatalf("copying npm: %v\n%s", err, out)
	}
	bin := filepath.Join(rootfs, "usr", "bin")
	for link, target := range map[string]string{
		"npm": "../lib/node_modules/npm/bin/npm-cli.js",
		"npx": "../lib/node_modules/npm/bin/npx-cli.js",
		"env": "/bin/busybox", // npm-cli.js starts with #!/usr/bin/env node
	} {
		if err := os.Symlink(target, filepath.Join(bin, link)); err != nil {
			t.Fatal(err)
		}
	}
	etc := filepath.Join(rootfs, "usr", "etc") // npm's globalconfig: $PREFIX/etc/npmrc
	MkdirAll(t, etc)
	WriteFile(t, filepath.Join(etc, "npmrc"), nodeNPMRC, 0o644)
}

// addNpmCache packs NodePackages with the host's npm (in work) and adds the
// tarballs to rootfs's /root/.npm cache. It returns each tarball's integrity.
func addNpmCache(t testing.TB, rootfs, work string) map[string]string {
	t.Helper()
	cache := filepath.Join(rootfs, "root", ".npm")
	sums := map[string]string{}
	for _, p := range NodePackages {
		src := filepath.Join(work, p.Name)
		WriteFiles(t, src, map[string]string{
			"package.json": fmt.Sprintf(`{"name": %q, "version": "1.0.0", "main": "index.js"}`+"\n", p.Name),
			"index.js":     p.Main,
		})
		npm(t, src, "pack", "--pack-destination", work)
		tgz := filepath.Join(work, p.Name+"-1.0.0.tgz")
		npm(t, work, "cache", "add", tgz, "--cache", cache)
		data, err := os.ReadFile(tgz)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha512.Sum512(data)
		sums[p.Name] = "sha512-" + base64.StdEncoding.EncodeToString(sum[:])
	}
	if err := os.RemoveAll(filepath.Join(cache, "_logs")); err != nil {
		t.Fatal(err)
	}
	return sums
}

// npm runs the host's npm offline in dir.
func npm(t testing.TB, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("npm", append(args, "--offline", "--no-audit", "--no-fund", "--no-update-notifier", "--loglevel=error")...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}
