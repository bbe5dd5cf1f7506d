package harness

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// AuthRegistry is a Registry serving HTTPS, with a certificate from a CA
// made for the test, that asks for htpasswd (basic) credentials.
type AuthRegistry struct {
	*Registry
	CAPath         string // the CA certificate (PEM) that signed the server's
	User, Password string
}

// StartAuthRegistry starts the TLS + htpasswd registry and waits until it
// answers GET /v2/ (401 without credentials). Its access log is off. It
// skips t when docker-registry or htpasswd (apache2-utils) is missing.
func StartAuthRegistry(t testing.TB) *AuthRegistry {
	t.Helper()
	Require(t, "docker-registry", "htpasswd")
	r := &AuthRegistry{Registry: &Registry{Dir: t.TempDir(), Addr: FreeLoopbackAddr(t)}, User: "kiln", Password: "s3cret-pw"}
	dir := r.Dir
	out, err := exec.Command("htpasswd", "-Bbn", r.User, r.Password).Output()
	if err != nil {
		t.Fatalf("htpasswd -Bbn: %v", err)
	}
	WriteFile(t, filepath.Join(dir, "htpasswd"), string(out), 0o600)
	ca, certPEM, keyPEM := MakeTestCA(t, net.ParseIP("127.0.0.1"))
	r.CAPath = filepath.Join(dir, "ca.pem")
	WriteFile(t, r.CAPath, string(ca), 0o644)
	WriteFile(t, filepath.Join(dir, "cert.pem"), string(certPEM), 0o644)
	WriteFile(t, filepath.Join(dir, "key.pem"), string(keyPEM), 0o600)
	r.start(t, fmt.Sprintf(`version: 0.1
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
`, dir, r.Addr))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("docker-registry log:\n%s", r.Log())
		}
	})
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{Proxy: nil, TLSClientConfig: &tls.Config{RootCAs: pool}}}
	waitForRegistry(t, r.Registry, hc, "https://"+r.Addr+"/v2/", http.StatusUnauthorized)
	return r
}

// MakeTestCA returns a fresh CA certificate and a server certificate and key
// for ips that it signed, all PEM, valid for a day.
func MakeTestCA(t testing.TB, ips ...net.IP) (caPEM, certPEM, keyPEM []byte) {
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
		Subject:      pkix.Name{CommonName: ips[0].String()},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  ips,
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
