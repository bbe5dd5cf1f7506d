package integration

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kiln-build/kiln/test/harness"
)

// readIID returns the digest kiln wrote to an --iidfile.
func readIID(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading --iidfile: %v", err)
	}
	return strings.TrimSpace(string(data))
}

// touchTree sets every file's and directory's mtime under dir to when.
func touchTree(t *testing.T, dir string, when time.Time) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Chtimes(p, when, when)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestReproducibleAcrossStores builds the seed's Pattern 1 Go example into
// two fresh stores (the same base image imported into each) from two copies
// of the context whose files' mtimes differ: the manifest digests are
// equal. Store A's build is --verify-reproducible (it builds a second time
// without the cache). The two stores build at the same time, to save time.
func TestReproducibleAcrossStores(t *testing.T) {
	t.Parallel()
	requireSuite(t, harness.GolangWarm)
	golangRootfs := harness.GolangWarm.Rootfs(t)
	df := writeDockerfile(t, pattern1Go)
	stores := []struct {
		name   string
		mtime  time.Time
		verify bool
		iid    string
	}{
		{"A", time.Unix(1_600_000_000, 0), true, ""},
		{"B", time.Now().Add(time.Hour), false, ""},
	}
	// The two subtests run at once from goroutines, not as parallel
	// subtests: those would wait for a slot behind every other test.
	t.Run("stores", func(t *testing.T) {
		var wg sync.WaitGroup
		for i := range stores {
			s := &stores[i]
			wg.Go(func() {
				t.Run(s.name, func(t *testing.T) {
					root := filepath.Join(t.TempDir(), "store")
					mustKilnRoot(t, root, nil, "import", golangRootfs, "-t", golangImage, "--compression", "uncompressed")
					ctx := goAppContext(t, false)
					touchTree(t, ctx, s.mtime)
					iid := filepath.Join(t.TempDir(), "iid")
					args := []string{"build", "--progress", "plain", "-f", df, "--iidfile", iid, "-t", "app:repro"}
					if s.verify {
						args = append(args, "--verify-reproducible")
					}
					mustKilnRoot(t, root, nil, append(args, ctx)...)
					s.iid = readIID(t, iid)
				})
			})
		}
		wg.Wait()
	})
	if stores[0].iid == "" || stores[1].iid == "" {
		t.FailNow()
	}
	if stores[0].iid != stores[1].iid {
		t.Errorf("two fresh stores, context mtimes changed: manifest digests %s and %s differ", stores[0].iid, stores[1].iid)
	}
	// The test's suite store, with its golang base made by the harness from
	// the same rootfs, agrees too.
	iid := filepath.Join(t.TempDir(), "iid")
	mustKiln(t, nil, "build", "--progress", "plain", "-f", df, "--iidfile", iid, goAppContext(t, false))
	if got := readIID(t, iid); got != stores[0].iid {
		t.Errorf("the suite store: manifest digest %s, fresh stores %s", got, stores[0].iid)
	}
}

// goldenNoRun is a Dockerfile with no base image and no RUN: its digest
// depends only on kiln and the context, so it is pinned.
const goldenNoRun = `FROM scratch
COPY hello.txt /etc/hello.txt
COPY --chmod=755 run.sh /bin/run.sh
ENV GREETING=hello
LABEL org.example.golden=yes
ENTRYPOINT ["/bin/run.sh"]
`

// goldenNoRunDigest is the manifest digest of goldenNoRun on its context
// (epoch 0: the context is no git repository and sets no SOURCE_DATE_EPOCH).
// A deliberate change of kiln's image encoding updates it, and says why.
const goldenNoRunDigest = "sha256:f439338df9c9bdd2622ae047ebdf7b4fb545766012f6da747567b39e44100ef5"

func TestReproducibleGoldenDigest(t *testing.T) {
	t.Parallel()
	requireSuite(t)
	ctx := t.TempDir()
	writeFiles(t, ctx, map[string]string{"hello.txt": "hello, reproducible world\n", "run.sh": "#!/bin/sh\necho $GREETING\n"})
	touchTree(t, ctx, time.Now())
	iid := filepath.Join(t.TempDir(), "iid")
	r := mustKiln(t, nil, "build", "--progress", "plain", "-f", writeDockerfile(t, goldenNoRun), "--iidfile", iid, "--no-cache", ctx)
	if got := readIID(t, iid); got != goldenNoRunDigest {
		t.Errorf("manifest digest %s, golden %s\n%s", got, goldenNoRunDigest, r)
	}
}

func TestVerifyReproducibleNamesFile(t *testing.T) {
	t.Parallel()
	requireSuite(t)
	// Debian's busybox date has no %N (it prints it as is), so random bytes
	// make sure the two builds differ even within one second.
	df := "FROM busybox:test\nRUN echo stable > /stable\nRUN date +%s%N > /stamp && head -c 16 /dev/urandom | od -An -tx1 >> /stamp\n"
	r, _ := build(t, buildSpec{Context: t.TempDir(), Dockerfile: df, Args: []string{"--verify-reproducible"}})
	if r.Code == 0 {
		t.Fatalf("--verify-reproducible passed for a RUN writing the time and random bytes:\n%s", r)
	}
	_, msg, _ := strings.Cut(r.Stderr, "ERROR:")
	if !strings.Contains(msg, "stamp") || !strings.Contains(msg, "reproducible") {
		t.Errorf("the error does not say the build is not reproducible naming the differing file /stamp:\n%s", r)
	}
	if strings.Contains(msg, "stable") {
		t.Errorf("the error names /stable, which is the same in both builds:\n%s", r)
	}
	assertNoLeaks(t)
}
