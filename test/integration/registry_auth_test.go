package integration

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// authRegistry is a Debian docker-registry serving HTTPS with a certificate
// from a CA the test made, and asking for htpasswd (basic) credentials.
type authRegistry struct {
	addr     string // 127.0.0.1:PORT
	caPath   string // the CA certificate (PEM) that signed the server's
	user, pw string
	logPath  string
}

// startAuthRegistry starts the TLS + htpasswd registry and waits until it
// answers GET /v2/ (401 without credentials). It skips t when
// docker-registry or htpasswd (apache2-utils) is not installed.
func startAuthRegistry(t *testing.T) *authRegistry {
	t.Helper()
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		t.Skip("needs docker-registry on PATH (apt-get install docker-registry)")
	}
	htpasswd, err := exec.LookPath("htpasswd")
	if err != nil {
		t.Skip("needs htpasswd on PATH to make the registry's bcrypt password file (apt-get install apache2-utils)")
	}
	dir := t.TempDir()
	r := &authRegistry{addr: freeLoopbackAddr(t), user: "kiln", pw: "s3cret-pw", logPath: filepath.Join(dir, "registry.log")}
	out, err := exec.Command(htpasswd, "-Bbn", r.user, r.pw).Output()
	if err != nil {
		t.Fatalf("htpasswd -Bbn: %v", err)
	}
	writeFile(t, filepath.Join(dir, "htpasswd"), string(out), 0o600)
	ca, certPEM, keyPEM := makeTestCA(t)
	r.caPath = filepath.Join(dir, "ca.pem")
	writeFile(t, r.caPath, string(ca), 0o644)
	writeFile(t, filepath.Join(dir, "cert.pem"), string(certPEM), 0o644)
	writeFile(t, filepath.Join(dir, "key.pem"), string(keyPEM), 0o600)
	cfg := fmt.Sprintf(`version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %[1]s/data
auth:
  htpasswd:
    realm: kiln-test
    path: %[1]s/htpasswd
http:
  addr: %[2]s
  tls:
    certificate: %[1]s/cert.pem
    key: %[1]s/key.pem
`, dir, r.addr)
	cfgPath := filepath.Join(dir, "config.yml")
	writeFile(t, cfgPath, cfg, 0o644)
	logf, err := os.Create(r.logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", cfgPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("starting docker-registry: %v", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); logf.Close(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			data, _ := os.ReadFile(r.logPath)
			t.Logf("docker-registry log:\n%s", data)
		}
	})
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{Proxy: nil, TLSClientConfig: &tls.Config{RootCAs: pool}}}
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := hc.Get("https://" + r.addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusUnauthorized {
				return r
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		select {
		case <-done:
			data, _ := os.ReadFile(r.logPath)
			t.Fatalf("docker-registry exited at start:\n%s", data)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("docker-registry on %s did not answer 401 within 15s (%v)", r.addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// makeTestCA returns a fresh CA certificate and a server certificate and key
// for 127.0.0.1 that it signed, all PEM.
func makeTestCA(t *testing.T) (caPEM, certPEM, keyPEM []byte) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "kiln test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
}

// kilnHome runs kiln on root with the kiln.toml cfg, HOME and DOCKER_CONFIG
// in home (so credentials are read from and written to home/.docker only),
// no proxy, and stdin as standard input.
func kilnHome(t *testing.T, root, cfg, home, stdin string, args ...string) result {
	t.Helper()
	if cfg != "" {
		args = append([]string{"--config", cfg}, args...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), kilnTimeout)
	defer cancel()
	full := append([]string{"--root", root}, args...)
	cmd := exec.CommandContext(ctx, suite.kiln, full...)
	cmd.Env = append(os.Environ(), "KILN_CONFIG=", "HOME="+home, "DOCKER_CONFIG="+filepath.Join(home, ".docker"),
		"HTTPS_PROXY=", "HTTP_PROXY=", "https_proxy=", "http_proxy=", "NO_PROXY=*", "no_proxy=*")
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{args: full, stdout: stdout.String(), stderr: stderr.String()}
	if exit, ok := err.(*exec.ExitError); ok {
		r.code = exit.ExitCode()
	} else if err != nil {
		t.Fatalf("running kiln %s: %v", strings.Join(full, " "), err)
	}
	return r
}

// wantFailure fails t unless r failed with a message holding every one of
// wants (case-insensitive) and no Go stack trace.
func wantFailure(t *testing.T, what string, r result, wants ...string) {
	t.Helper()
	if r.code == 0 {
		t.Fatalf("%s: kiln succeeded, want a failure:\n%s", what, r)
	}
	msg := strings.ToLower(r.stderr)
	for _, w := range wants {
		if !strings.Contains(msg, strings.ToLower(w)) {
			t.Errorf("%s: the error does not say %q:\n%s", what, w, r)
		}
	}
	if strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "panic:") {
		t.Errorf("%s: kiln printed a Go stack:\n%s", what, r)
	}
	t.Logf("%s: %s", what, strings.TrimSpace(r.stderr))
}

// TestRegistryTLSAuth goes through a registry with a private CA and
// htpasswd auth with the CLI: no credentials → a clear 401; kiln login
// writes config.json; build --push and push succeed; pull into a fresh store
// gives the same digest; logout removes the credential; without the CA in
// kiln.toml the certificate is refused with a clear message.
func TestRegistryTLSAuth(t *testing.T) {
	requireSuite(t)
	reg := startAuthRegistry(t)
	cfg := filepath.Join(t.TempDir(), "kiln.toml")
	writeFile(t, cfg, fmt.Sprintf("[registry.%q]\n  ca = [%q]\n", reg.addr, reg.caPath), 0o644)
	home := t.TempDir()
	ref := reg.addr + "/team/app:1"
	ctx := t.TempDir()
	df := regDockerfile(t, pushDockerfile)
	// The image exists in the store before any push is tried.
	mustKilnIn(t, suite.store, "", "build", "--progress", "plain", "-f", df, "-t", "tlsauth:src", ctx)

	r := kilnHome(t, suite.store, cfg, home, "", "push", "tlsauth:src", ref)
	wantFailure(t, "push without login", r, reg.addr+"/team/app:1", "authentication required", "401")

	// A wrong password is refused, as docker login does, and not saved.
	r = kilnHome(t, suite.store, cfg, home, "wrong-pw\n", "login", reg.addr, "-u", reg.user, "--password-stdin")
	wantFailure(t, "login with a wrong password", r, reg.addr, "refused", "401")
	dockerCfg := filepath.Join(home, ".docker", "config.json")
	if _, err := os.Stat(dockerCfg); err == nil {
		data, _ := os.ReadFile(dockerCfg)
		t.Errorf("a refused login wrote %s:\n%s", dockerCfg, data)
	}

	r = kilnHome(t, suite.store, cfg, home, reg.pw+"\n", "login", reg.addr, "-u", reg.user, "--password-stdin")
	if r.code != 0 {
		t.Fatalf("kiln login failed:\n%s", r)
	}
	var cf struct {
		Auths map[string]struct{ Auth string } `json:"auths"`
	}
	readJSON(t, dockerCfg, &cf)
	if a, ok := cf.Auths[reg.addr]; !ok || a.Auth == "" {
		data, _ := os.ReadFile(dockerCfg)
		t.Fatalf("after kiln login, %s has no auth for %s:\n%s", dockerCfg, reg.addr, data)
	}

	r = kilnHome(t, suite.store, cfg, home, "", "build", "--progress", "plain", "-f", df, "-t", ref, "--push", ctx)
	if r.code != 0 {
		t.Fatalf("build --push after login:\n%s", r)
	}
	pushed := storeDigest(t, suite.store, ref)
	ref2 := reg.addr + "/team/other:2"
	if r := kilnHome(t, suite.store, cfg, home, "", "push", "tlsauth:src", ref2); r.code != 0 {
		t.Fatalf("kiln push after login:\n%s", r)
	}

	fresh := filepath.Join(t.TempDir(), "store")
	r = kilnHome(t, fresh, cfg, home, "", "pull", ref)
	if r.code != 0 {
		t.Fatalf("kiln pull after login:\n%s", r)
	}
	if got := strings.TrimSpace(r.stdout); got != pushed {
		t.Errorf("pulled %s, pushed %s", got, pushed)
	}
	r = kilnHome(t, fresh, cfg, home, "", "pull", ref2)
	if r.code != 0 {
		t.Fatalf("kiln pull %s after login:\n%s", ref2, r)
	}
	if got, want := strings.TrimSpace(r.stdout), storeDigest(t, suite.store, "tlsauth:src"); got != want {
		t.Errorf("pulled %s from %s, pushed %s", got, ref2, want)
	}

	// Without the CA the registry's certificate is not trusted.
	noCA := filepath.Join(t.TempDir(), "kiln.toml")
	writeFile(t, noCA, "", 0o644)
	r = kilnHome(t, filepath.Join(t.TempDir(), "store"), noCA, home, "", "pull", ref)
	wantFailure(t, "pull without the CA", r, reg.addr, "certificate", "ca = ")

	if r := kilnHome(t, suite.store, cfg, home, "", "logout", reg.addr); r.code != 0 {
		t.Fatalf("kiln logout:\n%s", r)
	}
	data, err := os.ReadFile(dockerCfg)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), reg.addr) {
		t.Errorf("after kiln logout, %s still names %s:\n%s", dockerCfg, reg.addr, data)
	}
	var left map[string]json.RawMessage
	if err := json.Unmarshal(data, &left); err != nil {
		t.Errorf("after kiln logout, %s is not JSON: %v", dockerCfg, err)
	}
	r = kilnHome(t, filepath.Join(t.TempDir(), "store"), cfg, home, "", "pull", ref)
	wantFailure(t, "pull after logout", r, reg.addr+"/team/app:1", "authentication required", "401")
}
