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

// TestDifferentialContainerMode builds every case with --isolation=container
// inside a runc container with Docker's default capabilities and seccomp and
// no user namespace (issue 17, case 3: where kaniko ran), and judges each
// image against root mode's golden. The sandbox is a busybox tree holding a
// static kiln: container mode runs RUN in a copy of the stage's tree
// without runc. One sandbox builds every case in turn, so the suite pays
// for one container start.
func TestDifferentialContainerMode(t *testing.T) {
	if os.Getenv(modesEnv) == "" {
		t.Skip(modesEnv + "=1 builds every case again in container mode, in a sandbox")
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
	box := harness.NewSandbox(t, harness.Busybox.Rootfs(t), harness.Security{Seccomp: "RuntimeDefault"})
	box.Timeout = 25 * time.Minute
	box.CopyIn(t, bin, "kiln-bin", "/kiln-bin")
	stores := box.Volume(t, "stores", "/stores")
	cfgDir := t.TempDir()
	data, err := os.ReadFile(env.reg.Config(t, true))
	if err != nil {
		t.Fatal(err)
	}
	harness.WriteFile(t, filepath.Join(cfgDir, "kiln.toml"), string(data), 0o644)
	box.CopyIn(t, cfgDir, "cfg", "/cfg")

	cases := loadCases(t)
	ctxs := t.TempDir()
	var script strings.Builder
	for _, c := range cases {
		// cp -a: the context's modes (setuid, sticky) as makeContext set them.
		if out, err := exec.Command("cp", "-a", c.makeContext(t), filepath.Join(ctxs, c.name)).CombinedOutput(); err != nil {
			t.Fatalf("copying the context of %s: %v\n%s", c.name, err, out)
		}
		ctx := "/cases/" + c.name
		// A store per case, as TestDifferential has: cache mounts of one
		// id must not carry over from another case.
		harness.CopyBases(t, filepath.Join(stores, c.name), 0, 0, harness.Busybox)
		args := append([]string{"/kiln-bin/kiln", "--root", "/stores/" + c.name, "--config", "/cfg/kiln.toml", "--isolation", "container",
			"build", "--progress", "plain", "-o", "type=oci,dest=/out/" + c.name + ".tar"}, c.flagsFor(ctx)...)
		args = append(args, ctx)
		for i, a := range args {
			args[i] = shellQuote(a)
		}
		// One at a time, as a CI job's builds run.
		script.WriteString(strings.Join(args, " ") + " >/out/" + c.name + ".log 2>&1 && echo 0 >/out/" +
			c.name + ".rc || echo $? >/out/" + c.name + ".rc\n")
	}
	box.CopyIn(t, ctxs, "cases", "/cases")
	out := box.Volume(t, "out", "/out")
	if r := box.Run(t, "/kiln-bin/kiln info\n"+script.String()); r.Code != 0 {
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
			judgeMode(t, env, "container", c, listed["container "+c.name], got, string(log))
		})
	}
	for key := range listed {
		name, ok := strings.CutPrefix(key, "container ")
		if ok && !hasCase(cases, name) {
			t.Errorf("%s: %q names no case", modesFile, key)
		}
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
