package remotecache

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/store"
	"github.com/kiln-build/kiln/internal/testutil/seaweedfs"
)

// These tests run against a real SeaweedFS (KILN_TEST_S3=1), one for the
// package, a bucket per test.

func TestMain(m *testing.M) {
	code := m.Run()
	seaweedfs.StopShared()
	os.Exit(code)
}

func s3Spec(t *testing.T, endpoint, bucket string, extra string) Spec {
	t.Helper()
	sp, err := ParseSpec(fmt.Sprintf("type=s3,bucket=%s,region=%s,endpoint_url=%s,use_path_style=true,access_key_id=%s,secret_access_key=%s%s",
		bucket, seaweedfs.Region, endpoint, seaweedfs.AccessKey, seaweedfs.SecretKey, extra))
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

// randomLayers puts n blobs of random bytes (size each) into s and returns
// them as layers with one step entry each, plus a layerless step.
func randomLayers(t *testing.T, s *store.Store, n, size int) []Entry {
	t.Helper()
	var entries []Entry
	for i := range n {
		data := make([]byte, size)
		rand.Read(data)
		d, err := s.PutBlob(data)
		if err != nil {
			t.Fatal(err)
		}
		l := &image.Layer{Digest: d, DiffID: digest.FromString(fmt.Sprintf("tar %s", d)), Size: int64(size), MediaType: ocispec.MediaTypeImageLayerGzip}
		entries = append(entries, Entry{Key: digest.FromString(fmt.Sprintf("step %d of %s", i, d)), Layer: l})
	}
	salt := make([]byte, 16)
	rand.Read(salt)
	return append(entries, Entry{Key: digest.FromBytes(append([]byte("layerless "), salt...))})
}

func openStore(t *testing.T) *store.Store {
	t.Helper()
	s, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func s3Export(t *testing.T, s *store.Store, sp Spec, entries []Entry) error {
	t.Helper()
	return Export(context.Background(), s, nil, sp, entries)
}

// assertImports checks that a fresh store reads exactly entries from the
// cache and fetches every layer with its bytes.
func assertImports(t *testing.T, from *store.Store, sp Spec, entries []Entry) {
	t.Helper()
	to := openStore(t)
	src, err := Import(context.Background(), to, nil, sp)
	if err != nil {
		t.Fatal(err)
	}
	if len(src.entries) != len(entries) {
		t.Fatalf("imported %d entries, want %d", len(src.entries), len(entries))
	}
	for _, e := range entries {
		l, ok := src.Lookup(e.Key)
		if !ok || (l == nil) != (e.Layer == nil) {
			t.Fatalf("step %s: got %v, %v", e.Key, l, ok)
		}
		if l == nil {
			continue
		}
		if err := src.Fetch(context.Background(), *l); err != nil {
			t.Fatal(err)
		}
		got, _ := to.ReadBlob(l.Digest)
		want, _ := from.ReadBlob(l.Digest)
		if !bytes.Equal(got, want) {
			t.Fatalf("layer %s: fetched %d bytes that differ from the %d written", l.Digest, len(got), len(want))
		}
	}
}

// blobUploads are the PUTs with a body to blobs/ keys.
func blobUploads(p *seaweedfs.Proxy) []string {
	var out []string
	for _, r := range p.Requests() {
		if r.Method == "PUT" && !r.Copy && strings.Contains(r.Path, "/blobs/") {
			out = append(out, r.String())
		}
	}
	return out
}

func TestS3RoundTripUploadsOnlyMissingBlobs(t *testing.T) {
	bucket := seaweedfs.BucketName(t)
	srv := seaweedfs.Shared(t, bucket)
	proxy := seaweedfs.StartProxy(t, srv)
	s := openStore(t)
	entries := randomLayers(t, s, 3, 64<<10)
	sp := s3Spec(t, proxy.Endpoint, bucket, ",name=main;pr-7")
	if err := s3Export(t, s, sp, entries); err != nil {
		t.Fatal(err)
	}
	// Three layers and the cache config.
	if got := blobUploads(proxy); len(got) != 4 {
		t.Fatalf("first export uploaded %q, want the 3 layers and the config", got)
	}
	assertImports(t, s, sp, entries)
	// Every name has the manifest: read the second one.
	assertImports(t, s, s3Spec(t, srv.Endpoint, bucket, ",name=pr-7"), entries)

	// One more layer: only it and the new config go up.
	proxy.Reset()
	more := append(randomLayers(t, s, 1, 1000), entries...)
	if err := s3Export(t, s, sp, more); err != nil {
		t.Fatal(err)
	}
	if got := blobUploads(proxy); len(got) != 2 {
		t.Fatalf("second export uploaded %q, want the new layer and the new config", got)
	}
	assertImports(t, s, sp, more)
}

// A blob past the multipart threshold goes up in parts and comes back whole.
func TestS3MultipartUpload(t *testing.T) {
	bucket := seaweedfs.BucketName(t)
	srv := seaweedfs.Shared(t, bucket)
	proxy := seaweedfs.StartProxy(t, srv)
	oldThreshold, oldPart := multipartThreshold, partSize
	multipartThreshold, partSize = 5<<20, 5<<20
	t.Cleanup(func() { multipartThreshold, partSize = oldThreshold, oldPart })
	s := openStore(t)
	entries := randomLayers(t, s, 1, 12<<20)
	sp := s3Spec(t, proxy.Endpoint, bucket, "")
	if err := s3Export(t, s, sp, entries); err != nil {
		t.Fatal(err)
	}
	parts := 0
	for _, r := range proxy.Requests() {
		if r.Method == "PUT" && strings.Contains(r.Path, entries[0].Layer.Digest.String()) {
			parts++
		}
	}
	if parts != 3 {
		t.Fatalf("the 12 MiB blob went up in %d PUTs, want 3 parts of at most 5 MiB: %v", parts, proxy.Requests())
	}
	assertImports(t, s, sp, entries)
}

// touch_refresh: a blob already there but older is copied onto itself,
// not uploaded again, and stays readable.
func TestS3TouchRefresh(t *testing.T) {
	bucket := seaweedfs.BucketName(t)
	srv := seaweedfs.Shared(t, bucket)
	proxy := seaweedfs.StartProxy(t, srv)
	s := openStore(t)
	entries := randomLayers(t, s, 2, 1000)
	if err := s3Export(t, s, s3Spec(t, proxy.Endpoint, bucket, ""), entries); err != nil {
		t.Fatal(err)
	}
	proxy.Reset()
	sp := s3Spec(t, proxy.Endpoint, bucket, ",touch_refresh=1ns")
	if err := s3Export(t, s, sp, entries); err != nil {
		t.Fatal(err)
	}
	var copies []string
	for _, r := range proxy.Requests() {
		if r.Copy {
			copies = append(copies, r.Path)
		}
	}
	if up := blobUploads(proxy); len(up) != 0 || len(copies) != 3 {
		t.Fatalf("want the 2 layers and the config touched (copied), none uploaded; uploads %q, copies %q", up, copies)
	}
	assertImports(t, s, sp, entries)
}

func TestS3MissingCacheAndForeignFormat(t *testing.T) {
	bucket := seaweedfs.BucketName(t)
	srv := seaweedfs.Shared(t, bucket)
	sp := s3Spec(t, srv.Endpoint, bucket, ",name=buildkit")
	_, err := Import(context.Background(), openStore(t), nil, sp)
	if err == nil || !strings.Contains(err.Error(), "no cache at s3://"+bucket+"/manifests/buildkit yet") {
		t.Fatalf("missing cache: got %v", err)
	}
	// What buildx --cache-to type=s3 writes under its default name.
	bk := `{"layers":[{"blob":"` + digest.FromString("l").String() + `","parent":-1}],"records":[{"digest":"` + digest.FromString("r").String() + `"}]}`
	_, err = srv.Client().PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("manifests/buildkit"), Body: strings.NewReader(bk)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Import(context.Background(), openStore(t), nil, sp)
	if err == nil || !strings.Contains(err.Error(), "BuildKit's cache format") || !strings.Contains(err.Error(), "s3://"+bucket+"/manifests/buildkit") {
		t.Fatalf("BuildKit's manifest: got %v", err)
	}
}

// A connection cut in the middle of a blob upload fails the export and
// leaves the manifest that was there: a reader gets the previous cache,
// whole.
func TestS3CutUploadKeepsPreviousCache(t *testing.T) {
	bucket := seaweedfs.BucketName(t)
	srv := seaweedfs.Shared(t, bucket)
	proxy := seaweedfs.StartProxy(t, srv)
	s := openStore(t)
	v1 := randomLayers(t, s, 2, 100<<10)
	sp := s3Spec(t, proxy.Endpoint, bucket, ",retry_max_attempts=2")
	if err := s3Export(t, s, sp, v1); err != nil {
		t.Fatal(err)
	}
	v2 := append(randomLayers(t, s, 1, 1<<20), v1...)
	proxy.Reset()
	proxy.CutAfter, proxy.CutPath = 256<<10, "/blobs/"
	proxy.Cut(true)
	err := s3Export(t, s, sp, v2)
	proxy.Cut(false)
	if err == nil || !strings.Contains(err.Error(), "uploading cache blob "+v2[0].Layer.Digest.String()) {
		t.Fatalf("want the export to fail on the cut blob, got %v (requests %v)", err, proxy.Requests())
	}
	for _, r := range proxy.Requests() {
		if r.Method == "PUT" && strings.Contains(r.Path, "/manifests/") {
			t.Fatalf("a manifest was written after a failed blob upload: %v", proxy.Requests())
		}
	}
	assertImports(t, s, s3Spec(t, srv.Endpoint, bucket, ""), v1)
	// The next export, uncut, completes the cache.
	if err := s3Export(t, s, sp, v2); err != nil {
		t.Fatal(err)
	}
	assertImports(t, s, sp, v2)
}

// Two writers exporting different caches to one name at once: every
// reader, during and after, sees one writer's cache whole.
func TestS3ConcurrentWriters(t *testing.T) {
	bucket := seaweedfs.BucketName(t)
	srv := seaweedfs.Shared(t, bucket)
	sp := s3Spec(t, srv.Endpoint, bucket, "")
	sa, sb := openStore(t), openStore(t)
	shared := randomLayers(t, sa, 2, 50<<10)
	for _, e := range shared[:2] {
		data, _ := sa.ReadBlob(e.Layer.Digest)
		sb.PutBlob(data)
	}
	a := append(randomLayers(t, sa, 2, 50<<10), shared...)
	b := append(randomLayers(t, sb, 3, 50<<10), shared...)
	keys := func(es []Entry) []string {
		var out []string
		for _, e := range es {
			out = append(out, e.Key.String())
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	const rounds = 5
	var wg sync.WaitGroup
	errs := make(chan error, 2*rounds)
	for _, w := range []struct {
		s       *store.Store
		entries []Entry
	}{{sa, a}, {sb, b}} {
		wg.Go(func() {
			for range rounds {
				errs <- s3Export(t, w.s, sp, w.entries)
			}
		})
	}
	// A reader meanwhile: each manifest it reads is one writer's, whole.
	done := make(chan struct{})
	var readerErr error
	go func() {
		defer close(done)
		for range 2 * rounds {
			if readerErr = readWhole(t.TempDir(), sp, keys(a), keys(b)); readerErr != nil {
				return
			}
		}
	}()
	wg.Wait()
	<-done
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if readerErr != nil {
		t.Fatal(readerErr)
	}
	src, err := Import(context.Background(), openStore(t), nil, sp)
	if err != nil {
		t.Fatal(err)
	}
	if err := oneOf(src, keys(a), keys(b)); err != nil {
		t.Fatal(err)
	}
	if _, isA := src.entries[a[0].Key]; isA {
		assertImports(t, sa, sp, a)
	} else {
		assertImports(t, sb, sp, b)
	}
}

// readWhole imports the cache into a fresh store: when there is one, it
// must be one writer's and every layer it names must be there.
func readWhole(dir string, sp Spec, a, b []string) error {
	s, err := store.Open(dir)
	if err != nil {
		return err
	}
	src, err := Import(context.Background(), s, nil, sp)
	if err != nil && strings.Contains(err.Error(), "no cache at") {
		return nil // not written yet
	}
	if err != nil {
		return err
	}
	if err := oneOf(src, a, b); err != nil {
		return err
	}
	for _, e := range src.entries {
		if e.Layer != nil {
			if err := src.Fetch(context.Background(), *e.Layer); err != nil {
				return fmt.Errorf("the manifest read names a layer not there: %w", err)
			}
		}
	}
	return nil
}

func oneOf(src *Source, a, b []string) error {
	var got []string
	for k := range src.entries {
		got = append(got, k.String())
	}
	slices.Sort(got)
	if !slices.Equal(got, a) && !slices.Equal(got, b) {
		return fmt.Errorf("read a cache of %d steps that is neither writer's (%d, %d)", len(got), len(a), len(b))
	}
	return nil
}

// A cache mount goes into the bucket as one blob; exporting it again
// unchanged uploads nothing, and a fresh store restores it.
func TestS3CacheMountUnchangedUploadsNothing(t *testing.T) {
	bucket := seaweedfs.BucketName(t)
	srv := seaweedfs.Shared(t, bucket)
	proxy := seaweedfs.StartProxy(t, srv)
	s := openStore(t)
	dir := t.TempDir()
	if err := os.WriteFile(dir+"/mod.zip", []byte("module bytes"), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := PackMount(context.Background(), s, "/go/pkg/mod", dir)
	if err != nil {
		t.Fatal(err)
	}
	entries := randomLayers(t, s, 1, 1000)
	sp := s3Spec(t, proxy.Endpoint, bucket, ",cache-mounts=true")
	if err := Export(context.Background(), s, nil, sp, entries, m); err != nil {
		t.Fatal(err)
	}
	if got := blobUploads(proxy); len(got) != 3 {
		t.Fatalf("first export uploaded %q, want the layer, the mount and the config", got)
	}
	proxy.Reset()
	again, err := PackMount(context.Background(), s, "/go/pkg/mod", dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := Export(context.Background(), s, nil, sp, entries, again); err != nil {
		t.Fatal(err)
	}
	if got := blobUploads(proxy); len(got) != 0 {
		t.Fatalf("an unchanged export uploaded %q, want nothing", got)
	}
	to := openStore(t)
	src, err := Import(context.Background(), to, nil, sp)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := RestoreMount(context.Background(), to, []*Source{src}, "/go/pkg/mod"); !ok || err != nil {
		t.Fatalf("restore: %v, %v", ok, err)
	}
	if got, err := os.ReadFile(to.CacheMountPath("/go/pkg/mod", 0) + "/mod.zip"); err != nil || string(got) != "module bytes" {
		t.Errorf("restored mod.zip: %q, %v", got, err)
	}
}
