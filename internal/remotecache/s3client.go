package remotecache

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go/middleware"
)

// Object sizes: a blob larger than multipartThreshold is uploaded (and one
// past S3's 5 GiB copy limit touched) in parts of partSize. Variables, so a
// test can make the parts small.
var (
	multipartThreshold int64 = 64 << 20
	partSize           int64 = 64 << 20
)

const maxCopyObject = 5 << 30

// s3Cache is one type=s3 cache's bucket and client.
type s3Cache struct {
	sp     *S3Spec
	client *s3.Client
}

// newS3Cache makes the client as BuildKit does: the AWS SDK's default
// configuration (environment, shared config and credentials files, SSO,
// web identity, container and instance credentials), overridden by the
// attributes. Checksums only where S3 requires them, as BuildKit: servers
// such as older MinIO or GCS refuse the SDK's trailing checksums.
func newS3Cache(ctx context.Context, sp *S3Spec) (*s3Cache, error) {
	opts := []func(*awsconfig.LoadOptions) error{
		awsconfig.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired),
		awsconfig.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired),
	}
	if sp.Region != "" {
		opts = append(opts, awsconfig.WithRegion(sp.Region))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("loading the AWS configuration for %s: %w", sp, err)
	}
	if cfg.Region == "" {
		return nil, fmt.Errorf("cache %s: no region: set region=, $AWS_REGION or a region in the AWS config file", sp)
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if sp.AccessKeyID != "" {
			o.Credentials = credentials.NewStaticCredentialsProvider(sp.AccessKeyID, sp.SecretAccessKey, sp.SessionToken)
		}
		if sp.EndpointURL != "" {
			o.BaseEndpoint = aws.String(sp.EndpointURL)
		}
		if sp.UsePathStyle {
			o.UsePathStyle = true
		}
		if sp.RetryMode != "" {
			o.RetryMode = aws.RetryMode(sp.RetryMode)
		}
		if sp.RetryMaxAttempts > 0 {
			o.RetryMaxAttempts = sp.RetryMaxAttempts
		}
		if sp.DisableAcceptEncoding {
			// GCS's front end rewrites the signed Accept-Encoding header
			// (BuildKit issue 3749): leave the header out.
			o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
				_, err := st.Finalize.Remove("DisableAcceptEncodingGzip")
				return err
			})
		}
	})
	return &s3Cache{sp: sp, client: client}, nil
}

// head reports whether key exists and when it was last written.
func (c *s3Cache) head(ctx context.Context, key string) (time.Time, bool, error) {
	out, err := c.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(c.sp.Bucket), Key: aws.String(key)})
	if err != nil {
		if isNotFound(err) {
			return time.Time{}, false, nil
		}
		return time.Time{}, false, err
	}
	return aws.ToTime(out.LastModified), true, nil
}

// put uploads size bytes of f: one PUT, or a multipart upload for a large
// blob. Either way the object appears whole or not at all.
func (c *s3Cache) put(ctx context.Context, key string, f *os.File, size int64) error {
	if size <= multipartThreshold {
		_, err := c.client.PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String(c.sp.Bucket), Key: aws.String(key),
			Body: io.NewSectionReader(f, 0, size), ContentLength: aws.Int64(size),
		})
		return err
	}
	return c.multipart(ctx, key, size, func(ctx context.Context, id string, n int32, off, length int64) (*string, error) {
		out, err := c.client.UploadPart(ctx, &s3.UploadPartInput{
			Bucket: aws.String(c.sp.Bucket), Key: aws.String(key), UploadId: aws.String(id), PartNumber: aws.Int32(n),
			Body: io.NewSectionReader(f, off, length), ContentLength: aws.Int64(length),
		})
		if err != nil {
			return nil, err
		}
		return out.ETag, nil
	})
}

// touch rewrites key onto itself (new metadata, same bytes), which renews
// its modification time; past 5 GiB S3 copies only in parts.
func (c *s3Cache) touch(ctx context.Context, key string, size int64) error {
	source := url.PathEscape(c.sp.Bucket) + "/" + escapeKey(key)
	if size < maxCopyObject {
		_, err := c.client.CopyObject(ctx, &s3.CopyObjectInput{
			Bucket: aws.String(c.sp.Bucket), Key: aws.String(key), CopySource: aws.String(source),
			Metadata:          map[string]string{"touched-at": time.Now().UTC().Format(time.RFC3339)},
			MetadataDirective: s3types.MetadataDirectiveReplace,
		})
		return err
	}
	return c.multipart(ctx, key, size, func(ctx context.Context, id string, n int32, off, length int64) (*string, error) {
		out, err := c.client.UploadPartCopy(ctx, &s3.UploadPartCopyInput{
			Bucket: aws.String(c.sp.Bucket), Key: aws.String(key), UploadId: aws.String(id), PartNumber: aws.Int32(n),
			CopySource: aws.String(source), CopySourceRange: aws.String(fmt.Sprintf("bytes=%d-%d", off, off+length-1)),
		})
		if err != nil {
			return nil, err
		}
		return out.CopyPartResult.ETag, nil
	})
}

// partFunc sends one part of a multipart upload and returns its ETag.
type partFunc func(ctx context.Context, uploadID string, n int32, off, length int64) (*string, error)

// multipart writes key in parts of partSize; on failure the upload is
// aborted, so no parts are left behind and the object is not created.
func (c *s3Cache) multipart(ctx context.Context, key string, size int64, part partFunc) (err error) {
	up, err := c.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(c.sp.Bucket), Key: aws.String(key)})
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			// A fresh context: the build's may be what was cancelled.
			actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			c.client.AbortMultipartUpload(actx, &s3.AbortMultipartUploadInput{Bucket: aws.String(c.sp.Bucket), Key: aws.String(key), UploadId: up.UploadId})
		}
	}()
	var parts []s3types.CompletedPart
	for off, n := int64(0), int32(1); off < size; off, n = off+partSize, n+1 {
		etag, err := part(ctx, aws.ToString(up.UploadId), n, off, min(partSize, size-off))
		if err != nil {
			return fmt.Errorf("part %d: %w", n, err)
		}
		parts = append(parts, s3types.CompletedPart{ETag: etag, PartNumber: aws.Int32(n)})
	}
	_, err = c.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: aws.String(c.sp.Bucket), Key: aws.String(key), UploadId: up.UploadId,
		MultipartUpload: &s3types.CompletedMultipartUpload{Parts: parts},
	})
	return err
}

// escapeKey URL-encodes an object key for x-amz-copy-source, keeping its
// slashes.
func escapeKey(key string) string {
	segs := strings.Split(key, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}
