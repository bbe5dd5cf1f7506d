package integration

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/kiln-build/kiln/test/harness"
)

// storeVerify runs `kiln store verify` and fails unless it reports a
// consistent store.
func storeVerify(t *testing.T, when string) {
	t.Helper()
	r := runKiln(t, nil, "store", "verify")
	if r.Code != 0 || strings.TrimSpace(r.Stderr) != "" || !strings.Contains(r.Stdout, "consistent") {
		t.Errorf("kiln store verify %s:\n%s", when, r)
	}
}

// deadLeftovers lists entries of the store's tmp/ and mnt/ named for a
// process (PID-...) that no longer runs.
func deadLeftovers(t *testing.T) []string {
	t.Helper()
	var left []string
	for _, d := range []string{"tmp", "mnt"} {
		ents, err := os.ReadDir(filepath.Join(suiteRoot(t), d))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		for _, e := range ents {
			pidStr, _, _ := strings.Cut(e.Name(), "-")
			pid, err := strconv.Atoi(pidStr)
			if err != nil {
				continue
			}
			if syscall.Kill(pid, 0) == syscall.ESRCH {
				left = append(left, filepath.Join(d, e.Name()))
			}
		}
	}
	return left
}

const storeRebuildDockerfile = `FROM busybox:test AS build
COPY in.txt /in.txt
RUN tr a-z A-Z < /in.txt > /out.txt

FROM busybox:test
COPY --from=build /out.txt /out.txt
RUN cat /out.txt /out.txt > /twice.txt
`

// Prune and prune --all keep every image name and what a rebuild needs, on
// a store that also holds a multi-platform base when the machine can make
// it. (Every test's store verifies when the test ends: see requireSuite.)
func TestStoreVerifyPruneRebuild(t *testing.T) {
	t.Parallel()
	requireSuite(t)
	t.Run("with busybox:multi", func(t *testing.T) {
		addToSuiteStore(t, harness.BusyboxMulti) // skips without qemu and the arm64 busybox
	})
	ctx := t.TempDir()
	unique := uniqueID(t)
	writeFiles(t, ctx, map[string]string{"in.txt": "store " + unique})
	want := strings.ToUpper("store " + unique)
	check := func(when string) {
		t.Helper()
		_, img := mustBuild(t, buildSpec{Context: ctx, Dockerfile: storeRebuildDockerfile, Tag: "store:rebuild"})
		rootfs := img.Rootfs(t)
		if got := readImageFile(t, rootfs, "/twice.txt"); got != want+"\n"+want && got != want+want {
			t.Errorf("%s: /twice.txt = %q", when, got)
		}
	}
	check("before prune")
	storeVerify(t, "before prune")
	tagsBefore := storeTags(t)

	r := mustKiln(t, nil, "prune")
	t.Logf("kiln prune: %s", strings.TrimSpace(r.Stdout))
	storeVerify(t, "after prune")
	tagsAfter := storeTags(t)
	for tag := range tagsBefore {
		if !tagsAfter[tag] {
			t.Errorf("prune removed the image name %s", tag)
		}
	}
	check("after prune")
	storeVerify(t, "after the rebuild")

	mustKiln(t, nil, "prune", "--all")
	storeVerify(t, "after prune --all")
	check("after prune --all")
	if tagsBefore[multiImage] {
		dest := filepath.Join(t.TempDir(), "out")
		df := writeDockerfile(t, "FROM "+multiImage+"\nRUN uname -m > /arch\n")
		mustKiln(t, nil, "build", "--progress", "plain", "-f", df, "--platform", "linux/amd64,linux/arm64", "-o", "type=local,dest="+dest, t.TempDir())
		for dir, want := range map[string]string{"linux_amd64": "x86_64", "linux_arm64": "aarch64"} {
			if got := readImageFile(t, filepath.Join(dest, dir), "/arch"); got != want {
				t.Errorf("after prune --all: %s/arch = %q, want %q", dir, got, want)
			}
		}
	}
	storeVerify(t, "at the end")
	assertNoLeaks(t)
}
