package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/kiln-build/kiln/internal/config"
)

const (
	testUser  = "kiln"
	testPass  = "s3cret"
	testToken = "token-for-kiln"
)

// basicAuth asks for testUser:testPass on every /v2/ request, as
// distribution's htpasswd auth does.
func basicAuth(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != testUser || p != testPass {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// tokenAuth asks for a bearer token on every /v2/ request and hands one out
// at /token to testUser:testPass, as Docker Hub's token service does.
func tokenAuth(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/token" {
			if u, p, ok := r.BasicAuth(); !ok || u != testUser || p != testPass {
				http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}`, http.StatusUnauthorized)
				return
			}
			fmt.Fprintf(w, `{"token":%q}`, testToken)
			return
		}
		if r.Header.Get("Authorization") != "Bearer "+testToken {
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="http://%s/token",service="test"`, r.Host))
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// keychain hands out one user name and password for every registry.
type keychain struct{ user, pass string }

func (k keychain) Resolve(authn.Resource) (authn.Authenticator, error) {
	if k.user == "" {
		return authn.Anonymous, nil
	}
	return authn.FromConfig(authn.AuthConfig{Username: k.user, Password: k.pass}), nil
}

func TestAuthPushPull(t *testing.T) {
	for _, scheme := range []struct {
		name string
		wrap func(http.Handler) http.Handler
	}{{"basic", basicAuth}, {"token", tokenAuth}} {
		t.Run(scheme.name, func(t *testing.T) {
			reg := newTestRegistry(t, scheme.wrap)
			s := newStore(t)
			desc := commitImage(t, s, linuxAmd64, 2)
			ref := reg.host + "/kiln/auth:1"
			for _, creds := range []keychain{{}, {testUser, "wrong"}} {
				c := New(nil)
				c.Keychain = creds
				err := c.Push(context.Background(), s, desc, ref)
				if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), reg.host) || !strings.Contains(err.Error(), "401") {
					t.Errorf("push with %+v: want a 401 naming %s, got %v", creds, reg.host, err)
				}
				if n := reg.count.get("PUT manifest"); n != 0 {
					t.Errorf("push with %+v put %d manifests", creds, n)
				}
			}
			c := New(nil)
			c.Keychain = keychain{testUser, testPass}
			if err := c.Push(context.Background(), s, desc, ref); err != nil {
				t.Fatal(err)
			}
			got, err := c.Pull(context.Background(), newStore(t), ref, linuxAmd64)
			if err != nil {
				t.Fatal(err)
			}
			if got.Digest != desc.Digest {
				t.Errorf("pulled %s, pushed %s", got.Digest, desc.Digest)
			}
			c.Keychain = keychain{}
			if _, err := c.Pull(context.Background(), newStore(t), ref, linuxAmd64); !errors.Is(err, ErrUnauthorized) {
				t.Errorf("pull without credentials: want ErrUnauthorized, got %v", err)
			}
		})
	}
}

func TestCheckLogin(t *testing.T) {
	for _, scheme := range []struct {
		name string
		wrap func(http.Handler) http.Handler
	}{{"basic", basicAuth}, {"token", tokenAuth}} {
		t.Run(scheme.name, func(t *testing.T) {
			reg := newTestRegistry(t, scheme.wrap)
			cfg := &config.Config{Registries: map[string]config.Registry{reg.host: {HTTP: true}}}
			c := New(cfg)
			if err := c.CheckLogin(context.Background(), reg.host, testUser, testPass); err != nil {
				t.Errorf("right password: %v", err)
			}
			err := c.CheckLogin(context.Background(), reg.host, testUser, "wrong")
			var lerr *LoginError
			if !errors.As(err, &lerr) || !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), reg.host) {
				t.Errorf("wrong password: want a LoginError naming %s, got %v", reg.host, err)
			}
		})
	}
}

// TestPushBlobFails: a registry that drops the connection of every blob
// upload gets no manifest, and the error names the blob.
func TestPushBlobFails(t *testing.T) {
	reg := newTestRegistry(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPatch || (r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/blobs/uploads/")) {
				panic(http.ErrAbortHandler) // close the connection, no answer
			}
			h.ServeHTTP(w, r)
		})
	})
	s := newStore(t)
	desc := commitImage(t, s, linuxAmd64, 1)
	ref := reg.host + "/kiln/cut:1"
	err := New(nil).Push(context.Background(), s, desc, ref)
	var berr *BlobError
	if !errors.As(err, &berr) {
		t.Fatalf("want a BlobError, got %v", err)
	}
	for _, want := range []string{ref, "uploading blob sha256:", reg.host + "/kiln/cut", "tag was not written"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q does not say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "_state") {
		t.Errorf("message %q carries the upload URL's query", err)
	}
	if n := reg.count.get("PUT manifest"); n != 0 {
		t.Errorf("the registry got %d manifest PUTs after a failed blob upload", n)
	}
}

func TestCertificateError(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "https://")
	_, err := New(nil).Pull(context.Background(), newStore(t), host+"/x/y:1", linuxAmd64)
	if !errors.Is(err, ErrCertificate) {
		t.Fatalf("want ErrCertificate, got %v", err)
	}
	for _, want := range []string{host + "/x/y:1", "certificate", "ca = ", fmt.Sprintf("[registry.%q]", host)} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q does not say %q", err, want)
		}
	}
}
