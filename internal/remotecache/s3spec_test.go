package remotecache

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	cachetypes "github.com/moby/buildkit/cache/remotecache/v1/types"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestParseSpecS3Defaults(t *testing.T) {
	t.Setenv("AWS_BUCKET", "")
	t.Setenv("AWS_REGION", "")
	sp, err := ParseSpec("type=s3,bucket=b,region=eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	want := &S3Spec{Bucket: "b", Region: "eu-west-1", ManifestsPrefix: "manifests/", BlobsPrefix: "blobs/",
		Names: []string{"kiln"}, TouchRefresh: 24 * time.Hour, UploadParallelism: 4}
	if !reflect.DeepEqual(sp.S3, want) || sp.Mode != "min" || sp.IgnoreError {
		t.Fatalf("got %+v %+v, want %+v", sp, sp.S3, want)
	}
	// BuildKit's key layout: prefix, then manifests_prefix or blobs_prefix.
	if got := sp.S3.manifestKey("kiln"); got != "manifests/kiln" {
		t.Errorf("manifest key %q", got)
	}
	if got := sp.Location(); got != "s3://b/manifests/kiln" {
		t.Errorf("location %q", got)
	}
}

func TestParseSpecS3Attributes(t *testing.T) {
	sp, err := ParseSpec("type=s3,bucket=b,region=r,endpoint_url=http://127.0.0.1:9000,use_path_style=true," +
		"prefix=team/,manifests_prefix=m/,blobs_prefix=x/,name=main;sha-1234,access_key_id=AK,secret_access_key=SK," +
		"session_token=ST,touch_refresh=1h,upload_parallelism=9,mode=max,ignore-error=true," +
		"disable_accept_encoding=true,retry_mode=adaptive,retry_max_attempts=7")
	if err != nil {
		t.Fatal(err)
	}
	want := &S3Spec{Bucket: "b", Region: "r", EndpointURL: "http://127.0.0.1:9000", UsePathStyle: true,
		Prefix: "team/", ManifestsPrefix: "m/", BlobsPrefix: "x/", Names: []string{"main", "sha-1234"},
		AccessKeyID: "AK", SecretAccessKey: "SK", SessionToken: "ST", TouchRefresh: time.Hour, UploadParallelism: 9,
		DisableAcceptEncoding: true, RetryMode: "adaptive", RetryMaxAttempts: 7}
	if !reflect.DeepEqual(sp.S3, want) {
		t.Fatalf("got %+v, want %+v", sp.S3, want)
	}
	if sp.Mode != "max" || !sp.IgnoreError {
		t.Fatalf("mode %q ignore-error %v", sp.Mode, sp.IgnoreError)
	}
	d := digest.FromString("x")
	if got := sp.S3.blobKey(d); got != "team/x/"+d.String() {
		t.Errorf("blob key %q", got)
	}
	if got := sp.S3.manifestKey("main"); got != "team/m/main" {
		t.Errorf("manifest key %q", got)
	}
}

func TestParseSpecS3Environment(t *testing.T) {
	t.Setenv("AWS_BUCKET", "env-bucket")
	t.Setenv("AWS_REGION", "env-region")
	sp, err := ParseSpec("type=s3")
	if err != nil {
		t.Fatal(err)
	}
	if sp.S3.Bucket != "env-bucket" || sp.S3.Region != "env-region" {
		t.Fatalf("got bucket %q region %q", sp.S3.Bucket, sp.S3.Region)
	}
	// An attribute wins over the environment.
	sp, err = ParseSpec("type=s3,bucket=b,region=r")
	if err != nil || sp.S3.Bucket != "b" || sp.S3.Region != "r" {
		t.Fatalf("got %+v, %v", sp.S3, err)
	}
}

func TestParseSpecErrors(t *testing.T) {
	t.Setenv("AWS_BUCKET", "")
	for spec, want := range map[string]string{
		"type=s3,region=r":                           "needs bucket=",
		"type=s3,bucket=b,ref=r/x:1":                 `unknown cache option "ref" for type=s3`,
		"type=s3,bucket=b,cache-mounts=maybe":        "cache-mounts=maybe: want true or false",
		"type=registry,ref=r/x:1,bucket=b":           `unknown cache option "bucket" for type=registry`,
		"type=s3,bucket=b,use_path_style=yes please": "use_path_style=yes please: want true or false",
		"type=s3,bucket=b,touch_refresh=daily":       "touch_refresh=daily",
		"type=s3,bucket=b,upload_parallelism=0":      "upload_parallelism=0: want a positive integer",
		"type=s3,bucket=b,retry_mode=sometimes":      "retry_mode=sometimes",
		"type=s3,bucket=b,access_key_id=AK":          "go together",
		"type=s3,bucket=b,session_token=ST":          "session_token= needs",
		"type=s3,bucket=b,name=a;;b":                 "empty name",
		"type=s3,bucket=b,mode=all":                  "mode=all",
		"type=s3,bucket=b,bucket=c":                  "given twice",
		"type=registry,ref=r/x:1,ignore-error=maybe": "ignore-error=maybe",
		"type=gha":             "type=gha is not supported",
		"type=inline,mode=max": "mode=min",
		"type=inline,dest=/x":  "takes no ref=, dest= or src=",
	} {
		if _, err := ParseSpec(spec); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want an error with %q", spec, err, want)
		}
	}
}

// ignore-error is BuildKit's attribute of every cache type.
func TestParseSpecIgnoreError(t *testing.T) {
	for _, s := range []string{"type=registry,ref=r/x:1,ignore-error=true", "type=local,dest=/c,ignore-error=true"} {
		sp, err := ParseSpec(s)
		if err != nil || !sp.IgnoreError {
			t.Errorf("%s: got %+v, %v", s, sp, err)
		}
	}
}

// A manifest object in BuildKit's format (its cache config, under the
// same key layout) is refused with a message saying so.
func TestS3ManifestFormats(t *testing.T) {
	bk := cachetypes.CacheConfig{
		Layers:  []cachetypes.CacheLayer{{Blob: digest.FromString("l"), ParentIndex: -1}},
		Records: []cachetypes.CacheRecord{{Digest: digest.FromString("r"), Results: []cachetypes.CacheResult{{LayerIndex: 0}}}},
	}
	raw, err := json.Marshal(bk)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := checkS3Manifest(raw); err == nil || !strings.Contains(err.Error(), "BuildKit's cache format") {
		t.Fatalf("BuildKit's cache config: got %v", err)
	}
	if _, err := checkS3Manifest([]byte(`{"schemaVersion":2,"mediaType":"` + ocispec.MediaTypeImageManifest + `"}`)); err == nil ||
		!strings.Contains(err.Error(), "not a kiln cache manifest") {
		t.Fatalf("an image manifest: got %v", err)
	}
	if _, err := checkS3Manifest([]byte("<html>")); err == nil || !strings.Contains(err.Error(), "not a kiln cache manifest") {
		t.Fatalf("not JSON: got %v", err)
	}
	kiln := `{"schemaVersion":2,"mediaType":"` + ocispec.MediaTypeImageManifest + `","artifactType":"` + ArtifactType + `"}`
	if d, err := checkS3Manifest([]byte(kiln)); err != nil || d.Size != int64(len(kiln)) {
		t.Fatalf("kiln's manifest: got %+v, %v", d, err)
	}
}
