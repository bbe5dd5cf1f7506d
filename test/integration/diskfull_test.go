package integration

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/kiln-build/kiln/test/harness"
)

// A build on a store that runs out of space fails naming the step and the
// cause, leaves nothing half-written (the store verifies, no temp files or
// mounts are left, pruning gives the space back), and a build that fits
// succeeds afterwards on the same store.
func TestDiskFullFailsCleanly(t *testing.T) {
	t.Parallel()
	harness.Require(t, prerequisites...)
	fs := t.TempDir()
	if err := syscall.Mount("kiln-diskfull", fs, "tmpfs", 0, "size=64m,mode=0700"); err != nil {
		t.Skipf("mounting a tmpfs: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(fs, syscall.MNT_DETACH) })
	root := filepath.Join(fs, "store")
	harness.NewStoreAt(t, root, harness.Busybox) // copied: the tmpfs is another file system
	tmp := filepath.Join(fs, "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	env := []string{"TMPDIR=" + tmp}
	// The first build unpacks busybox:test's layer, which prune keeps.
	warm := t.TempDir()
	writeFiles(t, warm, map[string]string{"Dockerfile": "FROM busybox:test\nRUN true\n"})
	kilnAt(t, root, "build", "--progress", "plain", warm)
	baseline := usedBytes(t, fs)

	for _, tc := range []struct {
		name, dockerfile string
		files            map[string]string
		dest             string // the OCI tar, outside the tmpfs unless set
		step             string // what the error line names
	}{
		{name: "a RUN step writes too much", step: "RUN dd",
			dockerfile: "FROM busybox:test\nRUN dd if=/dev/zero of=/big bs=1M count=100\n"},
		{name: "the layer blob does not fit", step: "RUN head",
			dockerfile: "FROM busybox:test\nRUN head -c 40000000 /dev/urandom > /big\n"},
		{name: "COPY does not fit", step: "COPY big /big",
			dockerfile: "FROM busybox:test\nCOPY big /big\n", files: map[string]string{"big": strings.Repeat("kiln", 70<<18)}},
		{name: "the output does not fit", step: "writing " + filepath.Join(fs, "out.tar"), dest: filepath.Join(fs, "out.tar"),
			dockerfile: "FROM busybox:test\nRUN head -c 24000000 /dev/urandom > /big\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctxDir := t.TempDir()
			writeFiles(t, ctxDir, tc.files)
			df := filepath.Join(t.TempDir(), "Dockerfile")
			writeFile(t, df, tc.dockerfile, 0o644)
			dest := tc.dest
			if dest == "" {
				dest = filepath.Join(t.TempDir(), "out.tar")
			}
			r := runKilnRoot(t, root, env, "build", "--progress", "plain", "-f", df, "-o", "type=oci,dest="+dest, ctxDir)
			out := r.Stdout + r.Stderr
			if r.Code == 0 {
				t.Fatalf("the build succeeded on a full store:\n%s", r)
			}
			errLine := out[strings.LastIndex(out, "ERROR:"):]
			if !strings.Contains(strings.ToLower(out), "no space left on device") || !strings.Contains(errLine, tc.step) {
				t.Fatalf("want an error naming %q and saying \"no space left on device\":\n%s", tc.step, r)
			}
			if !strings.Contains(out, "kiln prune") {
				t.Errorf("want a hint to free space with kiln prune:\n%s", r)
			}
			if strings.Contains(out, "did it change") || strings.Contains(out, "shrank") {
				t.Errorf("a full disk is blamed on a changing file:\n%s", r)
			}
			if _, err := os.Stat(dest); err == nil {
				t.Errorf("the failed build left its output %s", dest)
			}
			if leftover, _ := filepath.Glob(filepath.Join(filepath.Dir(dest), ".out.tar.tmp-*")); len(leftover) > 0 {
				t.Errorf("the failed build left %v", leftover)
			}
			if entries, _ := os.ReadDir(tmp); len(entries) > 0 {
				t.Errorf("the failed build left files in TMPDIR: %v", entries)
			}
			if got := kilnAt(t, root, "store", "verify"); !strings.Contains(got, "consistent") {
				t.Fatalf("store verify:\n%s", got)
			}
			assertStoreClean(t, root)
			// What is left is usable cache: pruning it gives all space back.
			kilnAt(t, root, "prune", "--all")
			if used := usedBytes(t, fs); used > baseline+1<<20 {
				t.Errorf("after pruning, %d bytes are used, %d before the build", used, baseline)
			}
		})
	}

	ctxDir := t.TempDir()
	writeFiles(t, ctxDir, map[string]string{"Dockerfile": "FROM busybox:test\nRUN head -c 4000000 /dev/urandom > /small\n"})
	r := runKilnRoot(t, root, env, "build", "--progress", "plain", "-t", "fits:1", "-o", "type=oci,dest="+filepath.Join(fs, "out.tar"), ctxDir)
	if r.Code != 0 {
		t.Fatalf("a build that fits failed after the full ones:\n%s", r)
	}
	if got := kilnAt(t, root, "store", "verify"); !strings.Contains(got, "consistent") {
		t.Fatalf("store verify after the build that fits:\n%s", got)
	}
	assertStoreClean(t, root)
}

// usedBytes is how much of the file system at path is in use.
func usedBytes(t *testing.T, path string) int64 {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		t.Fatal(err)
	}
	return int64(st.Blocks-st.Bfree) * st.Bsize
}
