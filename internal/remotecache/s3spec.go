package remotecache

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// S3Spec is a type=s3 cache: BuildKit's attributes (cache/remotecache/s3),
// with kiln's own default manifest name.
type S3Spec struct {
	Bucket          string // bucket=, else $AWS_BUCKET
	Region          string // region=, else the AWS environment and config files
	EndpointURL     string // endpoint_url= (MinIO, SeaweedFS, …), else the AWS environment
	UsePathStyle    bool   // use_path_style=
	Prefix          string // prefix= before both of:
	ManifestsPrefix string // manifests_prefix= (default manifests/)
	BlobsPrefix     string // blobs_prefix= (default blobs/)
	// Names are the manifests written (name=a;b); a read uses the first.
	Names []string
	// Static credentials; without them the AWS SDK's default chain
	// (environment, shared files, SSO, web identity, container, IMDS).
	AccessKeyID, SecretAccessKey, SessionToken string
	// TouchRefresh: a blob already in the bucket that is older is copied
	// onto itself, so expiry rules keep what is still used (default 24h).
	TouchRefresh      time.Duration
	UploadParallelism int // blobs uploaded at once (default 4)
	// Client behaviour, as BuildKit's attributes of the same names.
	DisableAcceptEncoding bool   // disable_accept_encoding=
	RetryMode             string // retry_mode=standard|adaptive
	RetryMaxAttempts      int    // retry_max_attempts=
}

// DefaultS3Name is the manifest name kiln reads and writes by default.
// BuildKit's is "buildkit", in BuildKit's own format: with different names,
// kiln and buildx can share a bucket (and its blobs, which are content
// addressed under the same keys) without overwriting each other's manifest.
const DefaultS3Name = "kiln"

var s3Attrs = []string{"bucket", "region", "endpoint_url", "use_path_style", "prefix", "manifests_prefix",
	"blobs_prefix", "name", "access_key_id", "secret_access_key", "session_token", "touch_refresh",
	"upload_parallelism", "disable_accept_encoding", "retry_mode", "retry_max_attempts"}

// parseS3 reads the type=s3 attributes; a value that does not parse is an
// error (BuildKit falls back to the default for some; kiln does not guess).
func parseS3(attrs map[string]string) (*S3Spec, error) {
	sp := &S3Spec{
		Bucket: attrs["bucket"], Region: attrs["region"], EndpointURL: attrs["endpoint_url"],
		Prefix: attrs["prefix"], ManifestsPrefix: "manifests/", BlobsPrefix: "blobs/",
		Names:       []string{DefaultS3Name},
		AccessKeyID: attrs["access_key_id"], SecretAccessKey: attrs["secret_access_key"], SessionToken: attrs["session_token"],
		TouchRefresh: 24 * time.Hour, UploadParallelism: 4,
	}
	if v, ok := attrs["manifests_prefix"]; ok {
		sp.ManifestsPrefix = v
	}
	if v, ok := attrs["blobs_prefix"]; ok {
		sp.BlobsPrefix = v
	}
	if sp.Bucket == "" {
		sp.Bucket = os.Getenv("AWS_BUCKET")
	}
	if sp.Region == "" {
		sp.Region = os.Getenv("AWS_REGION")
	}
	if sp.Bucket == "" {
		return nil, fmt.Errorf("cache type=s3 needs bucket= (or $AWS_BUCKET)")
	}
	if v, ok := attrs["name"]; ok {
		sp.Names = nil
		for _, n := range strings.Split(v, ";") {
			if n == "" {
				return nil, fmt.Errorf("cache type=s3: name=%q has an empty name", v)
			}
			sp.Names = append(sp.Names, n)
		}
	}
	if (sp.AccessKeyID == "") != (sp.SecretAccessKey == "") {
		return nil, fmt.Errorf("cache type=s3: access_key_id= and secret_access_key= go together")
	}
	if sp.SessionToken != "" && sp.AccessKeyID == "" {
		return nil, fmt.Errorf("cache type=s3: session_token= needs access_key_id= and secret_access_key=")
	}
	if err := sp.parseClientAttrs(attrs); err != nil {
		return nil, err
	}
	return sp, nil
}

func (sp *S3Spec) parseClientAttrs(attrs map[string]string) error {
	var err error
	bools := map[string]*bool{"use_path_style": &sp.UsePathStyle, "disable_accept_encoding": &sp.DisableAcceptEncoding}
	for k, p := range bools {
		if v, ok := attrs[k]; ok {
			if *p, err = strconv.ParseBool(v); err != nil {
				return fmt.Errorf("cache type=s3: %s=%s: want true or false", k, v)
			}
		}
	}
	if v, ok := attrs["touch_refresh"]; ok {
		if sp.TouchRefresh, err = time.ParseDuration(v); err != nil || sp.TouchRefresh < 0 {
			return fmt.Errorf("cache type=s3: touch_refresh=%s: want a duration such as 24h", v)
		}
	}
	ints := map[string]*int{"upload_parallelism": &sp.UploadParallelism, "retry_max_attempts": &sp.RetryMaxAttempts}
	for k, p := range ints {
		if v, ok := attrs[k]; ok {
			if *p, err = strconv.Atoi(v); err != nil || *p <= 0 {
				return fmt.Errorf("cache type=s3: %s=%s: want a positive integer", k, v)
			}
		}
	}
	if v, ok := attrs["retry_mode"]; ok {
		if v != "standard" && v != "adaptive" {
			return fmt.Errorf("cache type=s3: retry_mode=%s: want standard or adaptive", v)
		}
		sp.RetryMode = v
	}
	return nil
}

// manifestKey is the object key of manifest name.
func (sp *S3Spec) manifestKey(name string) string {
	return sp.Prefix + sp.ManifestsPrefix + name
}

// blobKey is the object key of a blob: BuildKit's, prefix+blobs_prefix+digest.
func (sp *S3Spec) blobKey(d fmt.Stringer) string {
	return sp.Prefix + sp.BlobsPrefix + d.String()
}

// String is the first manifest's location, s3://bucket/key.
func (sp *S3Spec) String() string {
	return "s3://" + sp.Bucket + "/" + sp.manifestKey(sp.Names[0])
}
