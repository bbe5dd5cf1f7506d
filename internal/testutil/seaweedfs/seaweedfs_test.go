package seaweedfs

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// The fixture serves objects with the test identity, refuses another,
// and stops when asked.
func TestServerStoresAndStops(t *testing.T) {
	start := time.Now()
	srv := Start(t, "bkt")
	t.Logf("ready after %v", time.Since(start))
	c := srv.Client()
	ctx := context.Background()
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k/x"), Body: strings.NewReader("hello")}); err != nil {
		t.Fatal(err)
	}
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k/x")})
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if string(data) != "hello" {
		t.Fatalf("read back %q", data)
	}
	bad := s3.New(c.Options(), func(o *s3.Options) { o.Credentials = aws.AnonymousCredentials{} })
	if _, err := bad.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k/x")}); err == nil {
		t.Fatal("an anonymous client read the object")
	}
	stop := time.Now()
	srv.Stop()
	t.Logf("stopped after %v", time.Since(stop))
	if srv.cmd.ProcessState == nil || !srv.cmd.ProcessState.Exited() && srv.cmd.ProcessState.Sys() == nil {
		t.Fatalf("the server is still running")
	}
}
