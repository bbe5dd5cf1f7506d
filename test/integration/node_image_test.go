package integration

import (
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/kiln-build/kiln/internal/testutil"
)

// The local names of the images the Node tests publish to their registry
// under the names the seed's Dockerfiles use (through the docker.io mirror).
const (
	nodeLocalImage    = "kiln-it/node:20"     // → library/node:20-alpine
	curlLocalImage    = "kiln-it/curl:latest" // → curlimages/curl:latest
	uclibcLocalImage  = "kiln-it/busybox:uclibc"
	nodeGreeting      = "hello from kiln node"
	curlStandInBanner = "curl 8.0.0 (kiln-it stand-in)"
)

// nodePackages are the two packages of the example app: one dependency and
// one devDependency, pre-loaded into the node image's npm cache (/root/.npm)
// so `npm ci` installs them offline, as it would from a registry.
var nodePackages = []struct{ name, main string }{
	{"kiln-greet", `module.exports = () => "greet 1.0.0";` + "\n"},
	{"kiln-devtool", `module.exports = () => "devtool 1.0.0";` + "\n"},
}

var nodeImages struct {
	once      sync.Once
	err       string
	integrity map[string]string // package → sha512 SRI of its tarball
}

// npmrc is the node image's global npm config: never touch the network
// (the packages come from the pre-loaded cache), no audit, no fund, no
// update check.
const npmrc = `offline=true
audit=false
fund=false
update-notifier=false
`

// nodeBaseImages makes, once per run, the node image from the host's node
// and npm (a busybox rootfs plus /usr/bin/node, the glibc libraries `ldd`
// lists, npm's script tree, the CA bundle and a pre-loaded npm cache) and
// the curl and busybox:uclibc stand-ins of Pattern 7, and imports them into
// the shared store under local names.
func nodeBaseImages(t *testing.T) {
	t.Helper()
	requireSuite(t)
	for _, p := range []string{"/usr/bin/node", "/usr/lib/node_modules/npm/bin/npm-cli.js"} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("needs the host's node and npm: %v", err)
		}
	}
	nodeImages.once.Do(func() {
		nodeImages.err = "making the node images failed (see the first test's output)"
		dir := filepath.Join(suite.tmp, "rootfs")

		node := filepath.Join(dir, "node")
		testutil.BusyboxRootfs(t, node)
		addHostNode(t, node)
		nodeImages.integrity = addNpmCache(t, node)
		mustKiln(t, nil, "import", node, "-t", nodeLocalImage, "--compression", "uncompressed")

		curl := filepath.Join(dir, "curl")
		testutil.BusyboxRootfs(t, curl)
		writeFiles(t, curl, map[string]string{"usr/bin/curl": "#!/bin/sh\necho '" + curlStandInBanner + "'\n"})
		os.Chmod(filepath.Join(curl, "usr/bin/curl"), 0o755)
		mustKiln(t, nil, "import", curl, "-t", curlLocalImage)

		// Docker Hub's busybox images install the applets as hard links of
		// /bin/busybox (regular files), not symlinks: so does the stand-in.
		uclibc := filepath.Join(dir, "uclibc")
		testutil.BusyboxRootfs(t, uclibc)
		for _, applet := range []string{"sh", "wget"} {
			p := filepath.Join(uclibc, "bin", applet)
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			if err := os.Link(filepath.Join(uclibc, "bin", "busybox"), p); err != nil {
				t.Fatal(err)
			}
		}
		mustKiln(t, nil, "import", uclibc, "-t", uclibcLocalImage)
		nodeImages.err = ""
	})
	if nodeImages.err != "" {
		t.Fatal(nodeImages.err)
	}
}

var lddPath = regexp.MustCompile(`(?m)(?:=>\s*)?(/\S+)\s+\(0x`)

// addHostNode copies the host's node, its shared libraries and the dynamic
// loader (at the paths ldd names), npm, and the CA bundle into rootfs.
func addHostNode(t *testing.T, rootfs string) {
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
		mkdirAll(t, filepath.Dir(dst))
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
	mkdirAll(t, mods)
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
	mkdirAll(t, etc)
	writeFile(t, filepath.Join(etc, "npmrc"), npmrc, 0o644)
}

// addNpmCache packs nodePackages with the host's npm and adds the tarballs
// to rootfs's /root/.npm cache. It returns each tarball's integrity.
func addNpmCache(t *testing.T, rootfs string) map[string]string {
	t.Helper()
	work := t.TempDir()
	cache := filepath.Join(rootfs, "root", ".npm")
	sums := map[string]string{}
	for _, p := range nodePackages {
		src := filepath.Join(work, p.name)
		writeFiles(t, src, map[string]string{
			"package.json": fmt.Sprintf(`{"name": %q, "version": "1.0.0", "main": "index.js"}`+"\n", p.name),
			"index.js":     p.main,
		})
		npm(t, src, "pack", "--pack-destination", work)
		tgz := filepath.Join(work, p.name+"-1.0.0.tgz")
		npm(t, work, "cache", "add", tgz, "--cache", cache)
		data, err := os.ReadFile(tgz)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha512.Sum512(data)
		sums[p.name] = "sha512-" + base64.StdEncoding.EncodeToString(sum[:])
	}
	if err := os.RemoveAll(filepath.Join(cache, "_logs")); err != nil {
		t.Fatal(err)
	}
	return sums
}

// npm runs the host's npm offline in dir.
func npm(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("npm", append(args, "--offline", "--no-audit", "--no-fund", "--no-update-notifier", "--loglevel=error")...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func mkdirAll(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

// publishNodeImages pushes the node, curl and busybox:uclibc images to reg
// under their Docker Hub names (library/node:20-alpine, ...), so a build
// whose kiln.toml mirrors docker.io to reg resolves the seed's FROM lines.
func publishNodeImages(t *testing.T, reg *testRegistry) {
	t.Helper()
	cfg := reg.config(t, false)
	for local, remote := range map[string]string{
		nodeLocalImage:   "library/node:20-alpine",
		curlLocalImage:   "curlimages/curl:latest",
		uclibcLocalImage: "library/busybox:uclibc",
	} {
		mustKilnIn(t, suite.store, cfg, "push", local, reg.addr+"/"+remote)
	}
}

// nodeAppSrc prints the greeting and, when its node_modules has it, what the
// kiln-greet dependency answers.
const nodeAppSrc = `let dep = "no deps";
try { dep = require("kiln-greet")(); } catch (e) {}
console.log("` + nodeGreeting + `: " + dep);
`

// nodeAppContext writes the example Node app: kiln-greet as dependency,
// kiln-devtool as devDependency, a package-lock.json resolving both from
// the npm registry (their tarballs are in the node image's npm cache), and
// the scripts the seed's patterns run.
func nodeAppContext(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	pkg := `{
  "name": "app",
  "version": "1.0.0",
  "private": true,
  "dependencies": {"kiln-greet": "1.0.0"},
  "devDependencies": {"kiln-devtool": "1.0.0"},
  "scripts": {
    "build": "mkdir -p dist && cp src/index.js dist/index.js",
    "dev": "node src/index.js",
    "test": "echo ok",
    "lint": "echo ok",
    "type-check": "echo ok"
  }
}
`
	lockEntry := func(name string, dev bool) string {
		d := ""
		if dev {
			d = `,
      "dev": true`
		}
		return fmt.Sprintf(`    "node_modules/%[1]s": {
      "version": "1.0.0",
      "resolved": "https://registry.npmjs.org/%[1]s/-/%[1]s-1.0.0.tgz",
      "integrity": %[2]q%[3]s
    }`, name, nodeImages.integrity[name], d)
	}
	lock := `{
  "name": "app",
  "version": "1.0.0",
  "lockfileVersion": 3,
  "requires": true,
  "packages": {
    "": {
      "name": "app",
      "version": "1.0.0",
      "dependencies": {"kiln-greet": "1.0.0"},
      "devDependencies": {"kiln-devtool": "1.0.0"}
    },
` + lockEntry("kiln-devtool", true) + ",\n" + lockEntry("kiln-greet", false) + `
  }
}
`
	writeFiles(t, dir, map[string]string{
		"package.json":      pkg,
		"package-lock.json": lock,
		"src/index.js":      nodeAppSrc,
	})
	return dir
}
