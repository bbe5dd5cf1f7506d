package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/kiln-build/kiln/internal/testutil/seaweedfs"
	"github.com/kiln-build/kiln/test/harness"
)

// threeMachines is twoMachines and a third store with the same base image
// and no context; ctxB holds app.txt v2.
func threeMachines(t *testing.T) (storeA, storeB, storeC, ctxA, ctxB string) {
	t.Helper()
	storeA, storeB, ctxA, ctxB = twoMachines(t)
	storeC = filepath.Join(t.TempDir(), "c")
	harness.NewStoreAt(t, storeC, harness.Busybox)
	writeFiles(t, ctxB, map[string]string{"app.txt": "v2"})
	return
}

// The s3 cache against a real SeaweedFS (KILN_TEST_S3=1): one server for
// the suite (runMain stops it), a bucket per test.

// s3Env keeps kiln's AWS SDK to this test: no shared files of the machine,
// no instance metadata endpoint, none of the machine's AWS variables.
func s3Env(extra ...string) []string {
	env := []string{"AWS_CONFIG_FILE=/nonexistent", "AWS_SHARED_CREDENTIALS_FILE=/nonexistent", "AWS_EC2_METADATA_DISABLED=true",
		"AWS_PROFILE=", "AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=", "AWS_SESSION_TOKEN=", "AWS_REGION=", "AWS_BUCKET=",
		"AWS_ENDPOINT_URL=", "AWS_ENDPOINT_URL_S3="}
	return append(env, extra...)
}

// s3Cache is a --cache-to/--cache-from value for bucket on endpoint, with
// the test identity given as attributes.
func s3Cache(endpoint, bucket, extra string) string {
	return fmt.Sprintf("type=s3,bucket=%s,region=%s,endpoint_url=%s,use_path_style=true,access_key_id=%s,secret_access_key=%s%s",
		bucket, seaweedfs.Region, endpoint, seaweedfs.AccessKey, seaweedfs.SecretKey, extra)
}

func s3Kiln(t *testing.T, root string, env []string, args ...string) result {
	t.Helper()
	return harness.Run(t, harness.Opts{Root: root, Env: s3Env(env...)}, args...)
}

func mustS3Kiln(t *testing.T, root string, env []string, args ...string) result {
	t.Helper()
	return harness.MustRun(t, harness.Opts{Root: root, Env: s3Env(env...)}, args...)
}

// Machine A exports mode=max to the bucket; machine B, with an empty store
// and its credentials, bucket, region and endpoint from the AWS
// environment, runs nothing and makes A's image.
func TestS3CacheColdStoreWarmCache(t *testing.T) {
	t.Parallel()
	bucket := seaweedfs.BucketName(t)
	srv := seaweedfs.Shared(t, bucket)
	storeA, storeB, ctxA, ctxB := twoMachines(t)
	iidA, iidB := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	mustS3Kiln(t, storeA, nil, "build", "--progress", "plain", "--iidfile", iidA,
		"--cache-to", s3Cache(srv.Endpoint, bucket, ",mode=max"), ctxA)
	digestA, _ := os.ReadFile(iidA)
	// kiln's own name, never BuildKit's.
	if _, err := srv.Client().HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("manifests/kiln")}); err != nil {
		t.Fatalf("no manifests/kiln in the bucket: %v", err)
	}
	env := []string{"AWS_ACCESS_KEY_ID=" + seaweedfs.AccessKey, "AWS_SECRET_ACCESS_KEY=" + seaweedfs.SecretKey,
		"AWS_REGION=" + seaweedfs.Region, "AWS_BUCKET=" + bucket, "AWS_ENDPOINT_URL_S3=" + srv.Endpoint}
	r := mustS3Kiln(t, storeB, env, "build", "--progress", "plain", "--iidfile", iidB,
		"--cache-from", "type=s3,use_path_style=true", ctxB)
	assertAllCached(t, r, string(digestA), iidB)
	// A name nothing was written to is a warning, as a missing registry cache.
	r = mustS3Kiln(t, storeB, nil, "build", "--progress", "plain", "--cache-from", s3Cache(srv.Endpoint, bucket, ",name=other"), ctxB)
	if !strings.Contains(r.Stderr, "WARNING: importing cache s3://"+bucket+"/manifests/other") || !strings.Contains(r.Stderr, "no cache at") {
		t.Fatalf("want a warning for a missing cache:\n%s", r.Stderr)
	}
}

// A big layer whose upload the proxy cuts: the export fails (or, with
// ignore-error=true, warns), and the bucket keeps the previous cache, whole.
func TestS3CacheCutUploadKeepsPreviousCache(t *testing.T) {
	t.Parallel()
	bucket := seaweedfs.BucketName(t)
	srv := seaweedfs.Shared(t, bucket)
	proxy := seaweedfs.StartProxy(t, srv)
	storeA, storeB, ctxA, ctxB := twoMachines(t)
	df := remoteCacheDockerfile + "RUN head -c 2097152 /dev/urandom > /random.bin\n"
	for _, c := range []string{ctxA, ctxB} {
		writeFiles(t, c, map[string]string{"Dockerfile": df})
	}
	cache := s3Cache(proxy.Endpoint, bucket, ",mode=max,retry_max_attempts=2")
	iidA := filepath.Join(t.TempDir(), "a")
	mustS3Kiln(t, storeA, nil, "build", "--progress", "plain", "--iidfile", iidA, "--cache-to", cache, ctxA)
	digestV1, _ := os.ReadFile(iidA)

	writeFiles(t, ctxA, map[string]string{"app.txt": "v2"})
	proxy.CutAfter, proxy.CutPath = 512<<10, "/blobs/"
	proxy.Cut(true)
	r := s3Kiln(t, storeA, nil, "build", "--progress", "plain", "--cache-to", cache, ctxA)
	wantFailure(t, "cut cache upload", r, "exporting cache to s3://"+bucket+"/manifests/kiln", "uploading cache blob sha256:")
	r = mustS3Kiln(t, storeA, nil, "build", "--progress", "plain", "--cache-to", cache+",ignore-error=true", ctxA)
	if !strings.Contains(r.Stderr, "WARNING: exporting cache to s3://"+bucket+"/manifests/kiln (ignore-error=true)") {
		t.Errorf("ignore-error=true: want a warning:\n%s", r.Stderr)
	}
	proxy.Cut(false)
	cut := 0
	for _, req := range proxy.Requests() {
		if req.Cut {
			cut++
		}
	}
	if cut == 0 {
		t.Fatalf("the proxy cut nothing: %v", proxy.Requests())
	}

	// A fresh machine on the v1 context reads v1's cache whole.
	iidB := filepath.Join(t.TempDir(), "b")
	r = mustS3Kiln(t, storeB, nil, "build", "--progress", "plain", "--iidfile", iidB, "--cache-from", s3Cache(srv.Endpoint, bucket, ""), ctxB)
	if n := strings.Count(r.Stderr, "CACHED"); n != 6 {
		t.Fatalf("want the 6 steps of v1 CACHED, got %d:\n%s", n, r.Stderr)
	}
	if got, _ := os.ReadFile(iidB); string(got) != string(digestV1) {
		t.Fatalf("machine B made %s, v1 was %s", got, digestV1)
	}
}

// Two machines export different caches to one name at once, three times
// over; a third machine then reads one of them whole.
func TestS3CacheConcurrentWriters(t *testing.T) {
	t.Parallel()
	bucket := seaweedfs.BucketName(t)
	srv := seaweedfs.Shared(t, bucket)
	storeA, storeB, storeC, ctxA, ctxB := threeMachines(t)
	cache := s3Cache(srv.Endpoint, bucket, ",mode=max")
	iids := map[string]string{ctxA: filepath.Join(t.TempDir(), "a"), ctxB: filepath.Join(t.TempDir(), "b")}
	// Build once without the cache so the races below are the exports.
	for root, ctx := range map[string]string{storeA: ctxA, storeB: ctxB} {
		mustS3Kiln(t, root, nil, "build", "--progress", "plain", "--iidfile", iids[ctx], ctx)
	}
	var wg sync.WaitGroup
	results := make(chan result, 6)
	for root, ctx := range map[string]string{storeA: ctxA, storeB: ctxB} {
		wg.Go(func() {
			for range 3 {
				results <- s3Kiln(t, root, nil, "build", "--progress", "plain", "--cache-to", cache, ctx)
			}
		})
	}
	wg.Wait()
	close(results)
	for r := range results {
		if r.Code != 0 {
			t.Fatalf("a concurrent export failed:\n%s", r)
		}
	}
	// Whichever writer came last, its cache is whole: a third machine on
	// that writer's context runs nothing. (Its store keeps what it read, so
	// the other context goes first: it shares only the WORKDIR step.)
	whole := 0
	for _, ctx := range []string{ctxA, ctxB} {
		iid := filepath.Join(t.TempDir(), "iid")
		r := mustS3Kiln(t, storeC, nil, "build", "--progress", "plain", "--iidfile", iid, "--cache-from", cache, ctx)
		want, _ := os.ReadFile(iids[ctx])
		got, _ := os.ReadFile(iid)
		if strings.Count(r.Stderr, "CACHED") == 5 && string(got) == string(want) {
			whole++
		}
		t.Logf("context %s: %d CACHED, made %s, its writer %s", filepath.Base(ctx), strings.Count(r.Stderr, "CACHED"), got, want)
	}
	if whole != 1 {
		t.Fatalf("want exactly one writer's cache whole in the bucket, got %d", whole)
	}
}
