package integration

import (
	"archive/tar"
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kiln-build/kiln/test/harness"
)

// killPhases are the build phases a kill point names (internal/testhook),
// in the order a build passes them.
var killPhases = []string{"pull", "unpack", "run", "commit", "export"}

// killsPerPhase is how many points of each phase are killed.
const killsPerPhase = 6

// killBuild is the build the kill tests interrupt: a base image pulled from
// a loopback registry into the store (pull, unpack), RUN and COPY steps
// (run, commit) and an OCI tar (export).
type killBuild struct {
	cfg    string // kiln.toml reaching the registry
	ctxDir string
}

// SIGKILL lands at chosen points of every phase of a build (internal/testhook):
// after each kill `kiln store verify` is clean, the next build succeeds, and it
// leaves no temp files, mounts, runc containers or bundles behind.
func TestKillPointsLeaveStoreUsable(t *testing.T) {
	t.Parallel()
	harness.Require(t, prerequisites...)
	start := time.Now()
	kb := newKillBuild(t)

	// One traced build counts each phase's points, so kills spread over them.
	trace := filepath.Join(t.TempDir(), "trace")
	cmd, out, _ := kb.start(t, filepath.Join(t.TempDir(), "store"), []string{"KILN_TEST_KILLPOINT=trace", "KILN_TEST_KILLPOINT_FILE=" + trace})
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the traced build failed: %v\n%s", err, out)
	}
	total := map[string]int{}
	for _, m := range readMarks(t, trace) {
		total[m.phase] = max(total[m.phase], m.n)
	}

	landed := map[string]int{}
	for _, phase := range killPhases {
		// Pulling and unpacking happen only in a store without the base
		// image; the later phases share one store, as a user's would.
		shared := filepath.Join(t.TempDir(), "store")
		for _, n := range spread(total[phase], killsPerPhase) {
			root := shared
			if phase == "pull" || phase == "unpack" {
				root = filepath.Join(t.TempDir(), "store")
			}
			if kb.killAt(t, root, phase, n) {
				landed[phase]++
			}
		}
	}

	var table []string
	for _, phase := range killPhases {
		table = append(table, fmt.Sprintf("%s %d/%d", phase, landed[phase], total[phase]))
	}
	t.Logf("kills per phase (landed/points): %s; took %s", strings.Join(table, ", "), time.Since(start).Round(time.Second))
	sum := 0
	for _, phase := range killPhases {
		sum += landed[phase]
		if landed[phase] == 0 {
			t.Errorf("no kill landed in phase %s", phase)
		}
	}
	if sum < 30 {
		t.Errorf("%d kills landed, want at least 30", sum)
	}
}

// newKillBuild pushes a four-layer base image to a fresh registry and writes
// the context of a build on it.
func newKillBuild(t *testing.T) killBuild {
	t.Helper()
	reg := harness.StartRegistry(t)
	kb := killBuild{cfg: reg.Config(t, false), ctxDir: filepath.Join(t.TempDir(), "ctx")}
	base := reg.Addr + "/kill/base:1"
	baseCtx := filepath.Join(t.TempDir(), "base")
	writeFiles(t, baseCtx, map[string]string{
		"Dockerfile": "FROM busybox:test\n" +
			"RUN mkdir /data && for i in $(seq 300); do echo $i > /data/f$i; done\n" +
			"COPY blob /blob\n" +
			"RUN echo base > /etc/base\n",
		"blob": strings.Repeat("base layer ", 100<<10),
	})
	mustKilnIn(t, crashStore(t), kb.cfg, "build", "--progress", "plain", "-t", base, "--push", baseCtx)
	writeFiles(t, kb.ctxDir, map[string]string{
		"Dockerfile": "FROM " + base + "\n" +
			"COPY f /f\n" +
			"RUN sleep 0.3 && echo one > /one\n" +
			"RUN sleep 0.3 && dd if=/dev/urandom of=/two bs=64k count=16 2>/dev/null\n" +
			"RUN sleep 0.3 && rm /etc/base && echo three > /three\n" +
			"RUN cat /one /three > /four\n",
		"f": strings.Repeat("copied ", 50<<10),
	})
	return kb
}

// start starts an uncached build of kb on root with extra environment env.
func (kb killBuild) start(t *testing.T, root string, env []string) (cmd *exec.Cmd, out *lockedBuffer, dest string) {
	t.Helper()
	out = &lockedBuffer{}
	dest = filepath.Join(t.TempDir(), "out.tar")
	cmd = exec.Command(kilnBin(t), "--root", root, "--config", kb.cfg, "build", "--progress", "plain",
		"--no-cache", "-t", "kill:1", "-o", "type=oci,dest="+dest, kb.ctxDir)
	cmd.Env = append(os.Environ(), append([]string{"KILN_CONFIG=", "HTTPS_PROXY=", "HTTP_PROXY=",
		"https_proxy=", "http_proxy=", "NO_PROXY=*", "no_proxy=*"}, env...)...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, out, dest
}

// killAt runs a build that stops at the n-th point of phase, SIGKILLs it
// there, then checks the store and rebuilds. It reports whether the kill
// landed (false when the build never reached the point).
func (kb killBuild) killAt(t *testing.T, root, phase string, n int) bool {
	t.Helper()
	marker := filepath.Join(t.TempDir(), "marker")
	cmd, out, dest := kb.start(t, root, []string{fmt.Sprintf("KILN_TEST_KILLPOINT=%s:%d", phase, n), "KILN_TEST_KILLPOINT_FILE=" + marker})
	landed := killAtMark(t, cmd, out, root, phase, marker)
	where := fmt.Sprintf("killed at %s:%d", phase, n)
	if landed {
		assertWholeTarOrNone(t, dest, where)
		if left := leftovers(root); len(left) > 0 {
			t.Logf("%s: left %s", where, strings.Join(left, ", "))
		}
	}
	if r := kilnIn(t, root, kb.cfg, "store", "verify"); r.Code != 0 || !strings.Contains(r.Stdout, "consistent") {
		t.Fatalf("%s: store verify:\n%s\nkilled build's output:\n%s", where, r, out)
	}
	if r := kilnIn(t, root, kb.cfg, "build", "--progress", "plain", "-t", "kill:1", kb.ctxDir); r.Code != 0 {
		t.Fatalf("%s: the rebuild failed:\n%s\nkilled build's output:\n%s", where, r, out)
	}
	assertStoreClean(t, root)
	if bundles, _ := os.ReadDir(filepath.Join(root, "run", "bundles")); len(bundles) > 0 {
		t.Fatalf("%s: runc bundles are left after the rebuild: %v", where, bundles)
	}
	if r := kilnIn(t, root, kb.cfg, "store", "verify"); r.Code != 0 {
		t.Fatalf("%s: store verify after the rebuild:\n%s", where, r)
	}
	return landed
}

// leftovers describes what a killed build left in the store for the next
// start to clean: temp entries, mount points, mounts, bundles, containers.
func leftovers(root string) []string {
	var left []string
	for _, d := range []string{"tmp", "mnt", "run/bundles"} {
		if entries, _ := os.ReadDir(filepath.Join(root, d)); len(entries) > 0 {
			left = append(left, fmt.Sprintf("%d in %s/", len(entries), d))
		}
	}
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	n := 0
	for _, line := range strings.Split(string(mounts), "\n") {
		if f := strings.Fields(line); len(f) > 4 && strings.HasPrefix(f[4], root+"/") {
			n++
		}
	}
	if n > 0 {
		left = append(left, fmt.Sprintf("%d mounts", n))
	}
	out, _ := exec.Command("runc", "--root", filepath.Join(root, "run", "runc"), "list", "-q").Output()
	if ids := strings.Fields(string(out)); len(ids) > 0 {
		left = append(left, fmt.Sprintf("%d runc containers", len(ids)))
	}
	return left
}

type mark struct {
	phase string
	n     int
}

// readMarks reads the "phase n" lines of a kill-point marker file.
func readMarks(t *testing.T, path string) []mark {
	t.Helper()
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var marks []mark
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		phase, num, ok := strings.Cut(sc.Text(), " ")
		n, err := strconv.Atoi(num)
		if ok && err == nil {
			marks = append(marks, mark{phase, n})
		}
	}
	return marks
}

// spread picks k points out of 1..total, evenly, first and last included.
func spread(total, k int) []int {
	if total <= k {
		var all []int
		for n := 1; n <= total; n++ {
			all = append(all, n)
		}
		return all
	}
	var ns []int
	for i := 0; i < k; i++ {
		ns = append(ns, 1+i*(total-1)/(k-1))
	}
	return ns
}

// assertWholeTarOrNone fails unless path is missing or a complete tar: a
// killed export must never leave a half-written output under its name.
func assertWholeTarOrNone(t *testing.T, path, where string) {
	t.Helper()
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return
	} else if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		_, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("%s: the output %s is a broken tar: %v", where, path, err)
		}
	}
}
