package remotecache

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/docker/go-units"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"

	"github.com/kiln-build/kiln/internal/store"
)

// maxS3Manifest bounds what a read of a manifest object takes in.
const maxS3Manifest = 32 << 20

// exportS3 uploads the cache artifact desc (in the store) to the bucket:
// the blobs the bucket lacks first (content addressed, so a blob another
// writer uploads at the same time has the same bytes), then each name's
// manifest, one PUT each. A reader sees the old manifest or the new one,
// never a manifest whose blobs are missing; of two writers to one name the
// last one's complete manifest stays.
func exportS3(ctx context.Context, s *store.Store, sp *S3Spec, desc ocispec.Descriptor) error {
	c, err := newS3Cache(ctx, sp)
	if err != nil {
		return err
	}
	raw, err := s.ReadBlob(desc.Digest)
	if err != nil {
		return err
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return fmt.Errorf("decoding cache manifest %s: %w", desc.Digest, err)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(sp.UploadParallelism)
	for _, b := range append([]ocispec.Descriptor{m.Config}, m.Layers...) {
		g.Go(func() error { return c.ensureBlob(gctx, s, b) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for _, name := range sp.Names {
		key := sp.manifestKey(name)
		_, err := c.client.PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String(sp.Bucket), Key: aws.String(key), Body: bytes.NewReader(raw),
			ContentLength: aws.Int64(int64(len(raw))), ContentType: aws.String(ocispec.MediaTypeImageManifest),
		})
		if err != nil {
			return fmt.Errorf("writing cache manifest s3://%s/%s: %w", sp.Bucket, key, err)
		}
	}
	return nil
}

// ensureBlob uploads a blob the bucket lacks, and touches one it has that
// is older than touch_refresh.
func (c *s3Cache) ensureBlob(ctx context.Context, s *store.Store, d ocispec.Descriptor) error {
	key := c.sp.blobKey(d.Digest)
	modified, found, err := c.head(ctx, key)
	if err != nil {
		return fmt.Errorf("checking cache blob s3://%s/%s: %w", c.sp.Bucket, key, err)
	}
	if found {
		if time.Since(modified) <= c.sp.TouchRefresh {
			return nil
		}
		if err := c.touch(ctx, key, d.Size); err != nil {
			return fmt.Errorf("refreshing cache blob s3://%s/%s: %w", c.sp.Bucket, key, err)
		}
		return nil
	}
	f, err := s.OpenBlob(d.Digest)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := c.put(ctx, key, f, d.Size); err != nil {
		return fmt.Errorf("uploading cache blob %s (%s) to s3://%s/%s: %w", d.Digest, units.BytesSize(float64(d.Size)), c.sp.Bucket, key, err)
	}
	return nil
}

// importS3 reads the first name's manifest into the store and makes a
// Source whose blobs are fetched from the bucket when needed.
func importS3(ctx context.Context, s *store.Store, sp *S3Spec) (*Source, error) {
	c, err := newS3Cache(ctx, sp)
	if err != nil {
		return nil, err
	}
	key := sp.manifestKey(sp.Names[0])
	raw, err := c.getManifest(ctx, key)
	if err != nil {
		return nil, err
	}
	desc, err := checkS3Manifest(raw)
	if err != nil {
		return nil, fmt.Errorf("reading cache s3://%s/%s: %w", sp.Bucket, key, err)
	}
	if desc.Digest, err = s.PutBlob(raw); err != nil {
		return nil, err
	}
	fetch := func(ctx context.Context, d ocispec.Descriptor) error { return c.fetchBlob(ctx, s, d) }
	noIndex := func(context.Context, ocispec.Descriptor) error {
		return fmt.Errorf("reading cache s3://%s/%s: a kiln cache names no index", sp.Bucket, key)
	}
	return newSource(ctx, s, desc, fetch, noIndex)
}

func (c *s3Cache) getManifest(ctx context.Context, key string) ([]byte, error) {
	out, err := c.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(c.sp.Bucket), Key: aws.String(key)})
	if err != nil {
		if isNotFound(err) {
			return nil, fmt.Errorf("no cache at s3://%s/%s yet", c.sp.Bucket, key)
		}
		return nil, fmt.Errorf("reading cache s3://%s/%s: %w", c.sp.Bucket, key, err)
	}
	defer out.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(out.Body, maxS3Manifest+1))
	if err != nil {
		return nil, fmt.Errorf("reading cache s3://%s/%s: %w", c.sp.Bucket, key, err)
	}
	if len(raw) > maxS3Manifest {
		return nil, fmt.Errorf("reading cache s3://%s/%s: larger than %d bytes", c.sp.Bucket, key, maxS3Manifest)
	}
	return raw, nil
}

// checkS3Manifest tells kiln's cache manifest from BuildKit's cache config
// (the same key layout, another format) and anything else.
func checkS3Manifest(raw []byte) (ocispec.Descriptor, error) {
	var probe struct {
		MediaType    string            `json:"mediaType"`
		ArtifactType string            `json:"artifactType"`
		Records      []json.RawMessage `json:"records"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("not a kiln cache manifest: %w", err)
	}
	switch {
	case probe.Records != nil:
		return ocispec.Descriptor{}, fmt.Errorf("this is BuildKit's cache format (written by buildx --cache-to type=s3), which kiln does not read; "+
			"give kiln a name of its own (name=, default %q)", DefaultS3Name)
	case probe.MediaType != ocispec.MediaTypeImageManifest || probe.ArtifactType != ArtifactType:
		return ocispec.Descriptor{}, fmt.Errorf("not a kiln cache manifest (mediaType %q, artifactType %q)", probe.MediaType, probe.ArtifactType)
	}
	return ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, ArtifactType: ArtifactType, Size: int64(len(raw))}, nil
}

// fetchBlob downloads a blob into the store, verifying its digest.
func (c *s3Cache) fetchBlob(ctx context.Context, s *store.Store, d ocispec.Descriptor) error {
	if s.HasBlob(d.Digest) {
		return nil
	}
	key := c.sp.blobKey(d.Digest)
	out, err := c.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(c.sp.Bucket), Key: aws.String(key)})
	if err != nil {
		return fmt.Errorf("fetching cache blob s3://%s/%s: %w", c.sp.Bucket, key, err)
	}
	defer out.Body.Close()
	if err := storeVerified(s, d, out.Body); err != nil {
		return fmt.Errorf("fetching cache blob s3://%s/%s: %w", c.sp.Bucket, key, err)
	}
	return nil
}

func isNotFound(err error) bool {
	var nf *s3types.NotFound
	var nsk *s3types.NoSuchKey
	return errors.As(err, &nf) || errors.As(err, &nsk)
}
