package differential

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/kiln-build/kiln/test/harness"
)

// modesEnv runs the differential suite again in the unprivileged modes a
// plain user gets on a host (issue 17): every case built by a user the test
// creates, with subordinate ids and kiln's default store, and judged
// against the same goldens as root mode.
const modesEnv = "KILN_TEST_MODES"

// modesFile lists what cannot match in a mode: "mode case | reason". An
// entry whose case matches fails the suite, so the list stays true.
const modesFile = "modes.txt"

// unprivilegedModes are where the suite builds: the first two modes as a
// plain user on this host (TestDifferentialModes), then the containers of
// sandboxModes (TestDifferentialContainerMode).
var unprivilegedModes = []string{"rootless", "rootless-noproc", "container", "userns-container"}

// TestDifferentialModes builds every case as a plain user in each
// unprivileged mode and requires root mode's result: the golden, or the
// divergence root mode's own lists accept, or an entry of modes.txt.
func TestDifferentialModes(t *testing.T) {
	if os.Getenv(modesEnv) == "" {
		t.Skip(modesEnv + "=1 builds every case again as a plain user, in each unprivileged mode")
	}
	harness.Require(t, "docker-registry", "skopeo")
	env := &suite{version: buildkitVersion(t)}
	env.pending = readList(t, pendingFile)
	env.allowed = readList(t, allowlistFile)
	listed := readModesList(t)
	env.reg = harness.StartRegistry(t)
	pushBases(t, env)
	u := harness.NewUser(t)
	cfg := filepath.Join(u.Own(t, "cfg"), "kiln.toml")
	data, err := os.ReadFile(env.reg.Config(t, true))
	if err != nil {
		t.Fatal(err)
	}
	harness.WriteFile(t, cfg, string(data), 0o644)
	cases := loadCases(t)
	var mu sync.Mutex
	seen := map[string]bool{}
	for _, mode := range []string{"rootless", "rootless-noproc"} {
		t.Run(mode, func(t *testing.T) {
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					t.Parallel()
					key := mode + " " + c.name
					mu.Lock()
					seen[key] = true
					mu.Unlock()
					runModeCase(t, env, u, cfg, mode, c, listed[key])
				})
			}
		})
	}
	for key := range listed {
		if f := strings.Fields(key); !isSandboxLabel(f[0]) && !seen[key] && !t.Failed() {
			t.Errorf("%s: %q names no mode and case the suite built", modesFile, key)
		}
	}
}

func runModeCase(t *testing.T, env *suite, u *harness.User, cfg, mode string, c *testCase, reason string) {
	if skipCase(t, env, c) {
		return
	}
	ctx := u.CopyIn(t, c.makeContext(t), "ctx-"+mode+"-"+c.name)
	out := u.Own(t, filepath.Join("out", mode, c.name))
	tar := filepath.Join(out, "image.tar")
	// A store per case, as TestDifferential has: cache mounts of one id
	// must not carry over from another case.
	store := u.Own(t, filepath.Join("stores", mode, c.name))
	harness.CopyBases(t, store, u.UID, u.GID, harness.Busybox)
	args := append([]string{"--root", store, "--config", cfg, "--isolation", mode, "build", "--progress", "plain",
		"-o", "type=oci,dest=" + tar}, c.flagsFor(ctx)...)
	r := u.Run(t, append(args, ctx)...)
	judgeMode(t, env, mode, c, reason, modeResult(t, r.Code, r.Stderr, tar), r.Stderr)
}

// skipCase skips a case the machine cannot build (as runCase does).
func skipCase(t *testing.T, env *suite, c *testCase) bool {
	dockerfile, _ := os.ReadFile(filepath.Join(c.dir, "Dockerfile"))
	if !env.multi && strings.Contains(string(dockerfile), "busybox:multi") {
		t.Skip("busybox:multi needs qemu-user-static and the arm64 busybox deb")
		return true
	}
	return false
}

// modeResult is a build's Result from its exit code, stderr and OCI tar.
func modeResult(t *testing.T, code int, stderr, tar string) Result {
	if code != 0 {
		return Result{Fails: true, Error: errorLines(stderr)}
	}
	return Result{Images: normalize(t, tar, testBases(t))}
}

// judgeMode compares a mode's result with the golden root mode matches:
// a divergence passes only when modes.txt gives its reason, or when root
// mode's own lists accept the case; a listed case that matches fails.
func judgeMode(t *testing.T, env *suite, mode string, c *testCase, reason string, got Result, stderr string) {
	golden, ok := readGolden(t, c.name)
	if !ok {
		t.Fatalf("no golden for %s (TestDifferential says how to make it)", c.name)
	}
	diffs := diffResults(golden, got)
	if c.error != "" && got.Fails && !strings.Contains(got.Error, c.error) {
		diffs = append(diffs, "kiln's error does not say "+`"`+c.error+`": `+firstLine(got.Error))
	}
	_, pending := env.pending[c.name]
	_, allowed := env.allowed[c.name]
	switch {
	case len(diffs) == 0 && reason != "":
		t.Errorf("kiln now matches root mode in %s: remove %q from %s (it said: %s)", mode, mode+" "+c.name, modesFile, reason)
	case len(diffs) == 0:
	case reason != "":
		t.Logf("listed for %s: %s\n%s", mode, reason, strings.Join(diffs, "\n"))
	case pending || allowed:
		t.Logf("root mode diverges here too (%s)\n%s", pendingFile+" or "+allowlistFile, strings.Join(diffs, "\n"))
	default:
		t.Errorf("kiln --isolation=%s diverges from root mode's result (the golden):\n%s\nstderr:\n%s",
			mode, strings.Join(diffs, "\n"), lastLines(stderr, 15))
	}
}

// readModesList reads modes.txt: "mode case | reason" per line.
func readModesList(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for key, e := range readListFile(t, modesFile, 2) {
		f := strings.Fields(key)
		if len(f) != 2 || !isUnprivilegedMode(f[0]) {
			t.Fatalf("%s: want \"mode case | reason\" with mode one of %v: %q", modesFile, unprivilegedModes, key)
		}
		out[f[0]+" "+f[1]] = e.text
	}
	return out
}

func isUnprivilegedMode(m string) bool {
	for _, x := range unprivilegedModes {
		if x == m {
			return true
		}
	}
	return false
}
