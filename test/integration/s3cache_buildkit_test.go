package integration

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/kiln-build/kiln/internal/deathsig"
	"github.com/kiln-build/kiln/internal/testutil/seaweedfs"
	"github.com/kiln-build/kiln/test/harness"
)

// buildkitd is BuildKit's daemon (the oracle, test/oracle) on unix sockets
// in a private dir, with its own state dir and no config of the machine.
type buildkitd struct {
	bin, addr string
	cmd       *exec.Cmd
	done      chan struct{}
	log       bytes.Buffer
}

// oracleDir is $KILN_TEST_BUILDKIT, else what test/oracle/build.sh prints
// (cached by version: instant after the first build, about 3 minutes).
func oracleDir(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("KILN_TEST_BUILDKIT"); d != "" {
		return d
	}
	var stderr bytes.Buffer
	cmd := exec.Command(filepath.Join("..", "oracle", "build.sh"))
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("building the BuildKit oracle: %v\n%s", err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

func startBuildkitd(t *testing.T, bin string) *buildkitd {
	t.Helper()
	// A short dir of its own: the socket path is limited to 108 bytes.
	dir, err := os.MkdirTemp("", "bk-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	cfg := filepath.Join(dir, "buildkitd.toml")
	harness.WriteFile(t, cfg, "", 0o644)
	b := &buildkitd{bin: bin, addr: "unix://" + filepath.Join(dir, "buildkitd.sock"), done: make(chan struct{})}
	// Every path in dir: buildkitd's default OTEL socket is one shared
	// path in /run/buildkit, which a second daemon would take over.
	b.cmd = exec.Command(filepath.Join(bin, "buildkitd"), "--root", filepath.Join(dir, "root"), "--addr", b.addr,
		"--otel-socket-path", filepath.Join(dir, "otel.sock"), "--config", cfg, "--oci-worker=true", "--containerd-worker=false")
	// BuildKit's S3 client runs in the daemon: keep it to this test too.
	b.cmd.Env = harness.Environ(s3Env()...)
	b.cmd.Stdout, b.cmd.Stderr = &b.log, &b.log
	wait, err := deathsig.Start(b.cmd) // it dies with the test binary
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = wait(); close(b.done) }()
	t.Cleanup(b.stop)
	deadline := time.Now().Add(time.Minute)
	for {
		if err := exec.Command(filepath.Join(bin, "buildctl"), "--addr", b.addr, "debug", "workers").Run(); err == nil {
			return b
		}
		select {
		case <-b.done:
			t.Fatalf("buildkitd exited:\n%s", b.log.String())
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("buildkitd did not answer:\n%s", b.log.String())
		}
	}
}

// stop sends the daemon (only the PID started) SIGTERM, SIGKILL after 10 s.
func (b *buildkitd) stop() {
	b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-b.done:
	case <-time.After(10 * time.Second):
		b.cmd.Process.Kill()
		<-b.done
	}
}

// build runs buildctl build of a Dockerfile context with cache options.
func (b *buildkitd) build(t *testing.T, ctx string, cache ...string) string {
	t.Helper()
	args := []string{"--addr", b.addr, "build", "--progress", "plain", "--frontend", "dockerfile.v0",
		"--local", "context=" + ctx, "--local", "dockerfile=" + ctx}
	cmd := exec.Command(filepath.Join(b.bin, "buildctl"), append(args, cache...)...)
	cmd.Env = harness.Environ(s3Env()...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("buildctl %s: %v\n%s\nbuildkitd:\n%s", strings.Join(cmd.Args[1:], " "), err, out, b.log.String())
	}
	return string(out)
}

func getObject(t *testing.T, srv *seaweedfs.Server, bucket, key string) []byte {
	t.Helper()
	out, err := srv.Client().GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("reading s3://%s/%s: %v", bucket, key, err)
	}
	defer out.Body.Close()
	data, err := io.ReadAll(out.Body)
	if err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	return data
}

// BuildKit (buildctl --export-cache type=s3, what buildx sends) and kiln
// share a bucket with their default names: neither overwrites the other's
// manifest, each reads its own back, and kiln refuses BuildKit's with a
// clear message.
func TestS3CacheSharedWithBuildKit(t *testing.T) {
	t.Parallel()
	bucket := seaweedfs.BucketName(t)
	srv := seaweedfs.Shared(t, bucket)
	storeA, storeB, ctxA, ctxB := twoMachines(t)
	bin := oracleDir(t)
	attrs := s3Cache(srv.Endpoint, bucket, "")[len("type=s3,"):]

	bkCtx := t.TempDir()
	writeFiles(t, bkCtx, map[string]string{"Dockerfile": "FROM scratch\nCOPY a.txt /a.txt\n", "a.txt": "from buildkit"})
	bk := startBuildkitd(t, bin)
	bk.build(t, bkCtx, "--export-cache", "type=s3,mode=max,"+attrs)
	before := getObject(t, srv, bucket, "manifests/buildkit")

	iidA, iidB := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	mustS3Kiln(t, storeA, nil, "build", "--progress", "plain", "--iidfile", iidA, "--cache-to", s3Cache(srv.Endpoint, bucket, ",mode=max"), ctxA)
	if after := getObject(t, srv, bucket, "manifests/buildkit"); !bytes.Equal(before, after) {
		t.Fatalf("kiln's export changed BuildKit's manifest")
	}
	digestA, _ := os.ReadFile(iidA)
	r := mustS3Kiln(t, storeB, nil, "build", "--progress", "plain", "--iidfile", iidB, "--cache-from", s3Cache(srv.Endpoint, bucket, ""), ctxB)
	assertAllCached(t, r, string(digestA), iidB)

	r = mustS3Kiln(t, storeB, nil, "build", "--progress", "plain", "--cache-from", s3Cache(srv.Endpoint, bucket, ",name=buildkit"), ctxB)
	if !strings.Contains(r.Stderr, "BuildKit's cache format") {
		t.Errorf("kiln reading BuildKit's manifest: want a clear warning:\n%s", r.Stderr)
	}

	// A fresh BuildKit still reads its own cache: its COPY is CACHED.
	bk.stop()
	out := startBuildkitd(t, bin).build(t, bkCtx, "--import-cache", "type=s3,"+attrs)
	if !regexp.MustCompile(`COPY a\.txt /a\.txt\n#\d+ CACHED`).MatchString(out) {
		t.Errorf("BuildKit did not import its cache after kiln wrote to the bucket:\n%s", out)
	}
}
