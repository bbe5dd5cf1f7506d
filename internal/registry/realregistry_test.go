package registry

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// startDockerRegistry runs Debian's docker-registry on a free loopback port
// with its storage in a temp dir, and returns its host:port.
func startDockerRegistry(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		t.Skip("docker-registry is not installed (apt-get install docker-registry)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	cfg := fmt.Sprintf(`version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
http:
  addr: %s
`, filepath.Join(dir, "data"), addr)
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", cfgPath)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting docker-registry: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("docker-registry output:\n%s", out.String())
		}
	})
	waitReady(t, "http://"+addr+"/v2/")
	return addr
}

func waitReady(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("docker-registry did not answer %s", url)
}

func TestRealRegistryRoundTrip(t *testing.T) {
	host := startDockerRegistry(t)
	ctx := context.Background()
	s := newStore(t)
	arm64 := ocispec.Platform{OS: "linux", Architecture: "arm64"}
	c := New(nil)

	single := commitImage(t, s, linuxAmd64, 2)
	if err := c.Push(ctx, s, single, host+"/kiln/app:1"); err != nil {
		t.Fatal(err)
	}
	got, err := c.Pull(ctx, newStore(t), host+"/kiln/app:1", linuxAmd64)
	if err != nil {
		t.Fatal(err)
	}
	if got.Digest != single.Digest {
		t.Errorf("pulled manifest %s, pushed %s", got.Digest, single.Digest)
	}

	idx := commitIndex(t, s, commitImage(t, s, linuxAmd64, 1), commitImage(t, s, arm64, 1))
	if err := c.Push(ctx, s, idx, host+"/kiln/multi:1"); err != nil {
		t.Fatal(err)
	}
	got, err = c.Pull(ctx, newStore(t), host+"/kiln/multi:1", arm64)
	if err != nil {
		t.Fatal(err)
	}
	if got.Digest != idx.Digest {
		t.Errorf("pulled index %s, pushed %s", got.Digest, idx.Digest)
	}
}
