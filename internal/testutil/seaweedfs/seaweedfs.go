// Package seaweedfs runs a real S3 server for tests: SeaweedFS's `weed
// server` (master, volume server, filer and S3 gateway in one process) on
// free loopback ports, with its data in a private temp dir. The binary comes
// from test/s3/build.sh (a tool module, cached by its go.sum) or from
// $KILN_TEST_WEED; tests that need it run only with KILN_TEST_S3=1, which
// .ci/run sets after building the server.
package seaweedfs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/kiln-build/kiln/internal/deathsig"
)

// Credentials of the one identity the server knows, and the region every
// client signs for (SeaweedFS accepts any).
const (
	AccessKey = "kiln-test-access"
	SecretKey = "kiln-test-secret-key"
	Region    = "us-east-1"
)

// stopGrace is how long a stopped server gets to exit after SIGTERM before
// it is killed. SeaweedFS's own shutdown takes longer than a test wants to
// wait, and a test server's data is thrown away anyway.
const stopGrace = 3 * time.Second

// Server is one running SeaweedFS.
type Server struct {
	Endpoint string // http://127.0.0.1:PORT, the S3 gateway
	dir      string
	log      string
	ports    ports
	cmd      *exec.Cmd
	done     chan struct{}
	stopOnce sync.Once
}

// ports are the four servers' HTTP and gRPC ports. All are set: a gRPC port
// left at 0 would be its HTTP port + 10000, which may be taken or past 65535.
type ports struct {
	master, masterGrpc, volume, volumeGrpc, filer, filerGrpc, s3, s3Grpc int
}

// Require skips t unless KILN_TEST_S3=1.
func Require(t testing.TB) {
	t.Helper()
	if os.Getenv("KILN_TEST_S3") != "1" {
		t.Skip("the S3 tests run with KILN_TEST_S3=1 (.ci/run sets it after test/s3/build.sh)")
	}
}

// Start starts a server of t's own, waits until it stores and serves an
// object, creates buckets, and stops the server when t ends. It skips t
// unless KILN_TEST_S3=1. A server takes about ten seconds to start (its
// filer waits that long for peers): tests that can share one use Shared.
func Start(t testing.TB, buckets ...string) *Server {
	t.Helper()
	Require(t)
	srv, err := startReady()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	createBuckets(t, srv, buckets)
	return srv
}

var shared struct {
	once sync.Once
	srv  *Server
	err  error
}

// Shared is one server for every test of the test binary, started by the
// first caller; it creates buckets for t. StopShared (from TestMain) stops
// it; should the binary die first, the server dies with it.
func Shared(t testing.TB, buckets ...string) *Server {
	t.Helper()
	Require(t)
	shared.once.Do(func() { shared.srv, shared.err = startReady() })
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	createBuckets(t, shared.srv, buckets)
	return shared.srv
}

// StopShared stops the shared server, if one was started.
func StopShared() {
	if shared.srv != nil {
		shared.srv.Stop()
	}
}

// startReady starts a server in a private temp dir (removed by Stop) and
// waits until it is ready.
func startReady() (*Server, error) {
	bin, err := binary()
	if err != nil {
		return nil, err
	}
	// A short private dir: the filer's and gateway's unix sockets live in
	// it, and socket paths are limited to 108 bytes.
	dir, err := os.MkdirTemp("", "weed-")
	if err != nil {
		return nil, err
	}
	srv, err := start(bin, dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := srv.waitReady(ctx); err != nil {
		log := srv.Log()
		srv.Stop()
		return nil, fmt.Errorf("seaweedfs did not become ready: %w\n%s", err, log)
	}
	return srv, nil
}

func createBuckets(t testing.TB, srv *Server, buckets []string) {
	t.Helper()
	for _, b := range buckets {
		if _, err := srv.Client().CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatalf("creating bucket %s: %v", b, err)
		}
	}
}

// BucketName is a bucket name of t's own (S3's rules: 3 to 63 lower-case
// letters, digits and hyphens), for tests sharing a server.
func BucketName(t testing.TB) string {
	var b strings.Builder
	for _, r := range strings.ToLower(t.Name()) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteRune('-')
		}
	}
	name := strings.Trim(b.String(), "-")
	if len(name) > 63 {
		name = strings.Trim(name[len(name)-63:], "-")
	}
	return name
}

// binary is $KILN_TEST_WEED, else what test/s3/build.sh prints (it builds
// the server the first time, about ten minutes, and reuses it after).
func binary() (string, error) {
	if p := os.Getenv("KILN_TEST_WEED"); p != "" {
		return p, nil
	}
	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(file), "..", "..", "..", "test", "s3", "build.sh")
	var stderr bytes.Buffer
	cmd := exec.Command(script)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("building seaweedfs with %s: %w\n%s", script, err, stderr.String())
	}
	return filepath.Join(strings.TrimSpace(string(out)), "weed"), nil
}

func start(bin, dir string) (*Server, error) {
	p, err := freePorts(8)
	if err != nil {
		return nil, err
	}
	srv := &Server{dir: dir, log: filepath.Join(dir, "weed.log"), done: make(chan struct{}),
		ports: ports{p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7]}}
	srv.Endpoint = fmt.Sprintf("http://127.0.0.1:%d", srv.ports.s3)
	identities := filepath.Join(dir, "s3.json")
	if err := os.WriteFile(identities, []byte(identityConfig), 0o600); err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		return nil, err
	}
	logf, err := os.Create(srv.log)
	if err != nil {
		return nil, err
	}
	srv.cmd = exec.Command(bin, srv.args(data, identities)...)
	// Its working directory holds no master.toml or filer.toml to pick up.
	srv.cmd.Dir = dir
	srv.cmd.Stdout, srv.cmd.Stderr = logf, logf
	wait, err := deathsig.Start(srv.cmd) // it dies with the test binary
	if err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	go func() { _ = wait(); logf.Close(); close(srv.done) }()
	return srv, nil
}

func (srv *Server) args(data, identities string) []string {
	p := srv.ports
	return []string{
		"-logtostderr=true", // no log files in the system temp dir
		"server",
		"-ip=127.0.0.1", "-ip.bind=127.0.0.1",
		"-dir=" + data,
		fmt.Sprintf("-master.port=%d", p.master), fmt.Sprintf("-master.port.grpc=%d", p.masterGrpc),
		fmt.Sprintf("-volume.port=%d", p.volume), fmt.Sprintf("-volume.port.grpc=%d", p.volumeGrpc),
		"-filer", fmt.Sprintf("-filer.port=%d", p.filer), fmt.Sprintf("-filer.port.grpc=%d", p.filerGrpc),
		"-s3", fmt.Sprintf("-s3.port=%d", p.s3), fmt.Sprintf("-s3.port.grpc=%d", p.s3Grpc),
		"-s3.config=" + identities,
		// Listeners of their own on fixed ports otherwise.
		"-s3.port.iceberg=0", "-s3.port.lance=0",
		"-filer.localSocket=" + filepath.Join(srv.dir, "filer.sock"),
		"-s3.localSocket=" + filepath.Join(srv.dir, "s3.sock"),
		// Nothing leaves the machine.
		"-master.telemetry=false",
		// Small sparse volumes, enough of them for many buckets (each
		// bucket is a collection with volumes of its own).
		"-master.volumeSizeLimitMB=64", "-volume.max=100",
		"-volume.preStopSeconds=0",
	}
}

const identityConfig = `{"identities": [{"name": "kiln-test",
  "credentials": [{"accessKey": "` + AccessKey + `", "secretKey": "` + SecretKey + `"}],
  "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}
`

// freePorts reserves n distinct loopback ports by binding :0, then frees
// them for the server to take.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var out []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("reserving a loopback port: %w", err)
		}
		ls = append(ls, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	return out, nil
}

// Client is an S3 client for the server, with the test identity.
func (srv *Server) Client() *s3.Client {
	return s3.New(s3.Options{
		Region:       Region,
		BaseEndpoint: aws.String(srv.Endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(AccessKey, SecretKey, ""),
		// As kiln's cache does: no trailing checksums some servers refuse.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
}

// waitReady polls until an object can be stored and read back: the master,
// a volume server, the filer and the gateway are all up.
func (srv *Server) waitReady(ctx context.Context) error {
	c := srv.Client()
	const bucket, key = "kiln-ready-probe", "probe"
	var last error
	for {
		select {
		case <-srv.done:
			return errors.New("the server exited")
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %v)", ctx.Err(), last)
		case <-time.After(200 * time.Millisecond):
		}
		last = srv.probe(ctx, c, bucket, key)
		if last == nil {
			_, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
			if err == nil {
				_, err = c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bucket)})
			}
			return err
		}
	}
}

func (srv *Server) probe(ctx context.Context, c *s3.Client, bucket, key string) error {
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := c.HeadBucket(rctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)}); err != nil {
		if _, err := c.CreateBucket(rctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
			return err
		}
	}
	if _, err := c.PutObject(rctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader("ok")}); err != nil {
		return err
	}
	out, err := c.GetObject(rctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return err
	}
	return out.Body.Close()
}

// Stop sends the server SIGTERM and, if it has not exited after a grace
// period, SIGKILL; only the process Start started is signalled. It removes
// the server's dir and the gRPC sockets SeaweedFS puts in /tmp under this
// server's ports.
func (srv *Server) Stop() {
	srv.stopOnce.Do(func() {
		srv.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-srv.done:
		case <-time.After(stopGrace):
			srv.cmd.Process.Kill()
			<-srv.done
		}
		os.RemoveAll(srv.dir)
		p := srv.ports
		for _, s := range []struct {
			name string
			port int
		}{{"master", p.masterGrpc}, {"volume", p.volumeGrpc}, {"filer", p.filerGrpc}, {"s3", p.s3Grpc}} {
			os.Remove(fmt.Sprintf("/tmp/seaweedfs-%s-grpc-%d.sock", s.name, s.port))
		}
	})
}

// Log is the server's output so far, for a failing test's message.
func (srv *Server) Log() string {
	data, _ := os.ReadFile(srv.log)
	if len(data) > 8000 {
		data = data[len(data)-8000:]
	}
	return string(data)
}
