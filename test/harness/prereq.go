package harness

import (
	"os"
	"os/exec"
	"testing"

	"github.com/kiln-build/kiln/internal/testutil"
)

// packages names the Debian package of each tool a test may need.
var packages = map[string]string{
	"runc":                "runc",
	"umoci":               "umoci",
	"skopeo":              "skopeo",
	"docker-registry":     "docker-registry",
	"htpasswd":            "apache2-utils",
	"buildah":             "buildah",
	"git":                 "git",
	"tar":                 "tar",
	"gzip":                "gzip",
	"dpkg-deb":            "dpkg",
	"qemu-aarch64-static": "qemu-user-static",
	"script":              "util-linux",
	"node":                "nodejs",
	"npm":                 "npm",
	"go":                  "golang (or Go from go.dev)",
}

// Missing names what this machine lacks to run kiln's builds and the given
// tools: root, runc, busybox-static and each tool on PATH. It returns "" when
// nothing is missing.
func Missing(tools ...string) string {
	if os.Geteuid() != 0 {
		return "needs root (overlayfs mounts and runc)"
	}
	if _, err := os.Stat(testutil.BusyboxPath); err != nil {
		return "needs " + testutil.BusyboxPath + " (apt-get install busybox-static)"
	}
	for _, tool := range append([]string{"runc"}, tools...) {
		if _, err := exec.LookPath(tool); err != nil {
			return "needs " + tool + " on PATH (apt-get install " + packageOf(tool) + ")"
		}
	}
	return ""
}

func packageOf(tool string) string {
	if p, ok := packages[tool]; ok {
		return p
	}
	return tool
}

// Require skips t, saying why, unless Missing(tools...) is "".
func Require(t testing.TB, tools ...string) {
	t.Helper()
	if why := Missing(tools...); why != "" {
		t.Skip(why)
	}
}
