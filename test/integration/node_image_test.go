package integration

import (
	"fmt"
	"testing"

	"github.com/kiln-build/kiln/test/harness"
)

// The local names of the node images (see harness.Node, harness.Curl and
// harness.BusyboxUclibc), which the Node tests publish to their registry
// under the names the seed's Dockerfiles use (through the docker.io mirror).
var (
	nodeLocalImage    = harness.Node.Name // → library/node:20-alpine
	curlStandInBanner = harness.CurlBanner
)

const nodeGreeting = "hello from kiln node"

// nodeBaseImages puts the node image and the curl and busybox:uclibc
// stand-ins of Pattern 7 into the test's store, or skips without the host's
// node and npm.
func nodeBaseImages(t *testing.T) {
	t.Helper()
	addToSuiteStore(t, harness.Node, harness.Curl, harness.BusyboxUclibc)
}

// publishNodeImages pushes the node, curl and busybox:uclibc images to reg
// under their Docker Hub names (library/node:20-alpine, ...), so a build
// whose kiln.toml mirrors docker.io to reg resolves the seed's FROM lines.
func publishNodeImages(t *testing.T, reg *harness.Registry) {
	t.Helper()
	for base, remote := range map[*harness.Base]string{
		harness.Node:          "library/node:20-alpine",
		harness.Curl:          "curlimages/curl:latest",
		harness.BusyboxUclibc: "library/busybox:uclibc",
	} {
		reg.Push(t, base, remote)
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
    }`, name, harness.NodeIntegrity(t, name), d)
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
