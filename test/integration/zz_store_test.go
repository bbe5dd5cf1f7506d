package integration

// This file's name sorts last, so its test runs after the others of the
// package (go test runs tests in source order) and checks the shared store
// they all used.

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
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
		ents, err := os.ReadDir(filepath.Join(suite.store, d))
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

func TestZZStoreVerifyPruneRebuild(t *testing.T) {
	requireSuite(t)
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
	t.Run("no leftovers of finished builds", func(t *testing.T) {
		if left := deadLeftovers(t); len(left) > 0 {
			t.Errorf("finished kiln processes left these in the store: %v", left)
		}
	})

	storeVerify(t, "after every other test")
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
