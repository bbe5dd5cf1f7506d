package harness

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kiln-build/kiln/internal/deathsig"
)

// Registry is one Debian docker-registry (distribution 2.x) of one test,
// serving plain HTTP on a free loopback port, with its storage and access
// log in a temp dir. t.Cleanup stops it.
type Registry struct {
	Addr    string // 127.0.0.1:PORT
	Dir     string // its config, storage (data/) and log
	logPath string
	cmd     *exec.Cmd
	done    chan struct{}
}

// StartRegistry starts a registry and waits until it answers GET /v2/. It
// skips t when docker-registry is not installed.
func StartRegistry(t testing.TB) *Registry {
	t.Helper()
	Require(t, "docker-registry")
	r := &Registry{Dir: t.TempDir(), Addr: FreeLoopbackAddr(t)}
	cfg := fmt.Sprintf(`version: 0.1
log:
  level: info
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
`, filepath.Join(r.Dir, "data"), r.Addr)
	r.start(t, cfg)
	waitForRegistry(t, r, http.DefaultClient, "http://"+r.Addr+"/v2/", http.StatusOK)
	return r
}

// start writes cfg and starts docker-registry on it.
func (r *Registry) start(t testing.TB, cfg string) {
	t.Helper()
	cfgPath := filepath.Join(r.Dir, "config.yml")
	WriteFile(t, cfgPath, cfg, 0o644)
	r.logPath = filepath.Join(r.Dir, "registry.log")
	logf, err := os.Create(r.logPath)
	if err != nil {
		t.Fatal(err)
	}
	r.done = make(chan struct{})
	r.cmd = exec.Command("docker-registry", "serve", cfgPath)
	r.cmd.Stdout, r.cmd.Stderr = logf, logf
	wait, err := deathsig.Start(r.cmd) // it dies with the test binary
	if err != nil {
		logf.Close()
		t.Fatalf("starting docker-registry: %v", err)
	}
	go func() { _ = wait(); logf.Close(); close(r.done) }()
	t.Cleanup(r.Stop)
}

// waitForRegistry polls url until it answers status, failing t if the
// registry exits or does not answer within 15 s.
func waitForRegistry(t testing.TB, r *Registry, c *http.Client, url string, status int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := c.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == status {
				return
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		select {
		case <-r.done:
			t.Fatalf("docker-registry exited at start:\n%s", r.Log())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("docker-registry on %s did not answer %d within 15s (%v):\n%s", r.Addr, status, err, r.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop ends the registry (idempotent) and waits for it to exit.
func (r *Registry) Stop() {
	select {
	case <-r.done:
		return
	default:
	}
	r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(5 * time.Second):
		r.cmd.Process.Kill()
		<-r.done
	}
}

// Log returns what the registry has logged so far.
func (r *Registry) Log() string {
	data, _ := os.ReadFile(r.logPath)
	return string(data)
}

var accessLine = regexp.MustCompile(`"((?:GET|HEAD|POST|PUT|PATCH|DELETE) [^ ]+) HTTP/[0-9.]+"`)

// Requests returns the access log's request lines, in order
// ("POST /v2/team/app/blobs/uploads/").
func (r *Registry) Requests() []string {
	var reqs []string
	for _, m := range accessLine.FindAllStringSubmatch(r.Log(), -1) {
		reqs = append(reqs, m[1])
	}
	return reqs
}

// Uploads returns the blob upload requests (starts, chunks, commits and
// cross-repository mounts) the registry has received.
func (r *Registry) Uploads() []string {
	var ups []string
	for _, q := range r.Requests() {
		if strings.Contains(q, "/blobs/uploads") {
			ups = append(ups, q)
		}
	}
	return ups
}

// BlobCount counts the blobs in the registry's storage.
func (r *Registry) BlobCount(t testing.TB) int {
	t.Helper()
	n := 0
	root := filepath.Join(r.Dir, "data", "docker", "registry", "v2", "blobs")
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() && fi.Name() == "data" {
			n++
		}
		return nil
	})
	return n
}

// Config writes a kiln.toml reaching this registry over plain HTTP and,
// when mirror is set, using it as the docker.io mirror; it returns its path.
func (r *Registry) Config(t testing.TB, mirror bool) string {
	t.Helper()
	return WriteKilnConfig(t, r.Addr, mirror)
}

// Push pushes base to the registry as repo:tag (e.g. "library/node:20-alpine")
// with kiln push, from a store that holds only base, and returns the full
// reference.
func (r *Registry) Push(t testing.TB, base *Base, repoTag string) string {
	t.Helper()
	ref := r.Addr + "/" + repoTag
	s := NewStore(t, base)
	s.Config = r.Config(t, false)
	s.MustRun(t, "push", base.Name, ref)
	return ref
}

// FreeLoopbackAddr returns a 127.0.0.1 address with a port nothing listens
// on at the time of the call.
func FreeLoopbackAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// WriteKilnConfig writes a kiln.toml that reaches the registry at addr over
// plain HTTP (insecure) and, when mirror is set, uses it as the docker.io
// mirror; it returns its path.
func WriteKilnConfig(t testing.TB, addr string, mirror bool) string {
	t.Helper()
	var b strings.Builder
	if mirror {
		fmt.Fprintf(&b, "[registry.\"docker.io\"]\n  mirrors = [%q]\n", addr)
	}
	fmt.Fprintf(&b, "[registry.%q]\n  http = true\n  insecure = true\n", addr)
	p := filepath.Join(t.TempDir(), "kiln.toml")
	WriteFile(t, p, b.String(), 0o644)
	return p
}
