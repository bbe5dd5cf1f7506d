package integration

import (
	"bytes"
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
)

// testRegistry is one Debian docker-registry (distribution 2.x) serving plain
// HTTP on a loopback port, with its storage and log in a temp dir. Each test
// that needs one starts its own; t.Cleanup stops it.
type testRegistry struct {
	addr    string // 127.0.0.1:PORT
	dir     string
	logPath string
	cmd     *exec.Cmd
	done    chan struct{}
}

// startRegistry starts a registry on a free loopback port and waits until
// it answers GET /v2/. It skips t when docker-registry is not installed.
func startRegistry(t *testing.T) *testRegistry {
	t.Helper()
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		t.Skip("needs docker-registry on PATH (apt-get install docker-registry)")
	}
	r := &testRegistry{dir: t.TempDir(), done: make(chan struct{})}
	r.addr = freeLoopbackAddr(t)
	r.logPath = filepath.Join(r.dir, "registry.log")
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
`, filepath.Join(r.dir, "data"), r.addr)
	cfgPath := filepath.Join(r.dir, "config.yml")
	writeFile(t, cfgPath, cfg, 0o644)
	logf, err := os.Create(r.logPath)
	if err != nil {
		t.Fatal(err)
	}
	r.cmd = exec.Command(bin, "serve", cfgPath)
	r.cmd.Stdout, r.cmd.Stderr = logf, logf
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := r.cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("starting docker-registry: %v", err)
	}
	go func() { r.cmd.Wait(); logf.Close(); close(r.done) }()
	t.Cleanup(r.stop)

	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get("http://" + r.addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return r
			}
		}
		select {
		case <-r.done:
			t.Fatalf("docker-registry exited at start:\n%s", r.log())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("docker-registry on %s did not answer within 15s (%v):\n%s", r.addr, err, r.log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop ends the registry (idempotent) and waits for it to exit.
func (r *testRegistry) stop() {
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

// log returns what the registry has logged so far.
func (r *testRegistry) log() string {
	data, _ := os.ReadFile(r.logPath)
	return string(data)
}

// accessLines returns the registry's access-log request lines
// ("POST /v2/team/app/blobs/uploads/ HTTP/1.1").
var accessLine = regexp.MustCompile(`"((?:GET|HEAD|POST|PUT|PATCH|DELETE) [^ ]+) HTTP/[0-9.]+"`)

func (r *testRegistry) requests() []string {
	var reqs []string
	for _, m := range accessLine.FindAllStringSubmatch(r.log(), -1) {
		reqs = append(reqs, m[1])
	}
	return reqs
}

// uploads returns the blob upload requests (starts, chunks, commits and
// cross-repository mounts) the registry has received.
func (r *testRegistry) uploads() []string {
	var ups []string
	for _, q := range r.requests() {
		if strings.Contains(q, "/blobs/uploads") {
			ups = append(ups, q)
		}
	}
	return ups
}

// blobCount counts the blobs in the registry's storage.
func (r *testRegistry) blobCount(t *testing.T) int {
	t.Helper()
	n := 0
	root := filepath.Join(r.dir, "data", "docker", "registry", "v2", "blobs")
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() && fi.Name() == "data" {
			n++
		}
		return nil
	})
	return n
}

// config writes a kiln.toml that reaches this registry over plain HTTP
// and, when mirror is set, uses it as the docker.io mirror.
func (r *testRegistry) config(t *testing.T, mirror bool) string {
	t.Helper()
	return writeKilnConfig(t, r.addr, mirror)
}

func writeKilnConfig(t *testing.T, addr string, mirror bool) string {
	t.Helper()
	var b strings.Builder
	if mirror {
		fmt.Fprintf(&b, "[registry.\"docker.io\"]\n  mirrors = [%q]\n", addr)
	}
	fmt.Fprintf(&b, "[registry.%q]\n  http = true\n  insecure = true\n", addr)
	p := filepath.Join(t.TempDir(), "kiln.toml")
	writeFile(t, p, b.String(), 0o644)
	return p
}

// freeLoopbackAddr returns a 127.0.0.1 address with a port nothing listens
// on at the time of the call.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// kilnIn runs kiln on the store root (not the shared one) with the kiln.toml
// cfg ("" for none).
func kilnIn(t *testing.T, root, cfg string, args ...string) result {
	t.Helper()
	if cfg != "" {
		args = append([]string{"--config", cfg}, args...)
	}
	// No proxy: every registry of these tests is on loopback, and a request
	// that leaks to the internet must fail rather than be proxied.
	env := []string{"KILN_CONFIG=", "HTTPS_PROXY=", "HTTP_PROXY=", "https_proxy=", "http_proxy=", "NO_PROXY=*", "no_proxy=*"}
	return runKilnRoot(t, root, env, args...)
}

// mustKilnIn is kilnIn that fails the test unless kiln exits 0.
func mustKilnIn(t *testing.T, root, cfg string, args ...string) result {
	t.Helper()
	r := kilnIn(t, root, cfg, args...)
	if r.code != 0 {
		t.Fatalf("kiln failed:\n%s", r)
	}
	return r
}

// skopeoJSON runs skopeo with args and returns its stdout.
func skopeoOut(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command("skopeo", args...)
	cmd.Env = append(os.Environ(), "HTTPS_PROXY=", "HTTP_PROXY=", "https_proxy=", "http_proxy=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("skopeo %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out)
}
