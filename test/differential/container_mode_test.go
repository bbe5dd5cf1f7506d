package differential

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kiln-build/kiln/test/harness"
)

// sandboxModes are the containers the suite builds every case in, as the
// recipes of docs/recipes declare them.
var sandboxModes = []struct {
	label, isolation string
	rootfs           *harness.Base
	sec              harness.Security
}{
	// Issue 17, case 3 (where kaniko ran): Docker's default capabilities
	// and seccomp, no user namespace. Container mode runs RUN in a copy of
	// the stage's tree without runc, so a busybox tree suffices.
	{"container", "container", harness.Busybox, harness.Security{Seccomp: "RuntimeDefault"}},
	// Case 2: a user namespace (hostUsers: false) with CAP_SYS_ADMIN and
	// Docker's default seccomp, on kiln-base (runc, uidmap): a masked /proc,
	// so rootless-noproc. CAP_NET_ADMIN too, which RUN --network=none needs
	// there (docs/security.md).
	{"userns-container", "rootless-noproc", harness.KilnBase,
		harness.Security{UserNS: true, AddCaps: []string{"CAP_SYS_ADMIN", "CAP_NET_ADMIN"}, Seccomp: "RuntimeDefault"}},
}

// TestDifferentialContainerMode builds every case in each sandbox of
// sandboxModes (a runc container holding a static kiln) and judges each
// image against root mode's golden. One container builds every case in
// turn, so the suite pays for one container start per mode.
func TestDifferentialContainerMode(t *testing.T) {
	if os.Getenv(modesEnv) == "" {
		t.Skip(modesEnv + "=1 builds every case again in container mode and in a user-namespaced container")
	}
	harness.Require(t, "docker-registry", "skopeo", "runc", "go")
	env := &suite{version: buildkitVersion(t)}
	env.pending = readList(t, pendingFile)
	env.allowed = readList(t, allowlistFile)
	listed := readModesList(t)
	env.reg = harness.StartRegistry(t)
	pushBases(t, env)

	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(bin, "kiln"), "github.com/kiln-build/kiln/cmd/kiln")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building a static kiln: %v\n%s", err, out)
	}
	cfgDir := t.TempDir()
	data, err := os.ReadFile(env.reg.Config(t, true))
	if err != nil {
		t.Fatal(err)
	}
	harness.WriteFile(t, filepath.Join(cfgDir, "kiln.toml"), string(data), 0o644)
	cases := loadCases(t)
	for _, m := range sandboxModes {
		t.Run(m.label, func(t *testing.T) {
			runSandboxMode(t, env, m.label, m.isolation, m.rootfs, m.sec, bin, cfgDir, cases, listed)
		})
	}
	for key := range listed {
		f := strings.Fields(key)
		if isSandboxLabel(f[0]) && !hasCase(cases, f[1]) {
			t.Errorf("%s: %q names no case", modesFile, key)
		}
	}
}

func isSandboxLabel(l string) bool {
	for _, m := range sandboxModes {
		if m.label == l {
			return true
		}
	}
	return false
}

// runSandboxMode builds every case in one container, then judges them.
func runSandboxMode(t *testing.T, env *suite, label, isolation string, rootfs *harness.Base, sec harness.Security,
	bin, cfgDir string, cases []*testCase, listed map[string]string) {
	box := harness.NewSandbox(t, rootfs.Rootfs(t), sec)
	box.Timeout = 25 * time.Minute
	box.CopyIn(t, bin, "kiln-bin", "/kiln-bin")
	box.CopyIn(t, cfgDir, "cfg", "/kiln-cfg")
	stores := box.Volume(t, "stores", "/kiln-stores")
	id := 0
	if sec.UserNS {
		id = harness.SandboxIDBase
	}
	ctxs := t.TempDir()
	var script strings.Builder
	for _, c := range cases {
		// cp -a: the context's modes (setuid, sticky) as makeContext set them.
		if out, err := exec.Command("cp", "-a", c.makeContext(t), filepath.Join(ctxs, c.name)).CombinedOutput(); err != nil {
			t.Fatalf("copying the context of %s: %v\n%s", c.name, err, out)
		}
		ctx := "/kiln-cases/" + c.name
		// A store per case, as TestDifferential has: cache mounts of one
		// id must not carry over from another case.
		harness.CopyBases(t, filepath.Join(stores, c.name), id, id, harness.Busybox)
		args := append([]string{"/kiln-bin/kiln", "--root", "/kiln-stores/" + c.name, "--config", "/kiln-cfg/kiln.toml", "--isolation", isolation,
			"build", "--progress", "plain", "-o", "type=oci,dest=/kiln-out/" + c.name + ".tar"}, c.flagsFor(ctx)...)
		args = append(args, ctx)
		for i, a := range args {
			args[i] = shellQuote(a)
		}
		// One at a time, as a CI job's builds run.
		script.WriteString(strings.Join(args, " ") + " >/kiln-out/" + c.name + ".log 2>&1 && echo 0 >/kiln-out/" +
			c.name + ".rc || echo $? >/kiln-out/" + c.name + ".rc\n")
	}
	box.CopyIn(t, ctxs, "cases", "/kiln-cases")
	out := box.Volume(t, "out", "/kiln-out")
	if r := box.Run(t, "/kiln-bin/kiln --isolation "+isolation+" info\n"+script.String()); r.Code != 0 {
		t.Fatalf("the sandbox's script failed:\n%s", r)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if skipCase(t, env, c) {
				return
			}
			rc, err := os.ReadFile(filepath.Join(out, c.name+".rc"))
			if err != nil {
				t.Fatalf("the sandbox did not build %s: %v", c.name, err)
			}
			log, _ := os.ReadFile(filepath.Join(out, c.name+".log"))
			code := 0
			if strings.TrimSpace(string(rc)) != "0" {
				code = 1
			}
			got := modeResult(t, code, string(log), filepath.Join(out, c.name+".tar"))
			judgeMode(t, env, label, c, listed[label+" "+c.name], got, string(log))
		})
	}
}

func hasCase(cases []*testCase, name string) bool {
	for _, c := range cases {
		if c.name == name {
			return true
		}
	}
	return false
}

// shellQuote quotes s for /bin/sh.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
