package registry

import (
	"context"
	"encoding/pem"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/kiln-build/kiln/internal/config"
)

func TestPullTLS(t *testing.T) {
	srv := httptest.NewTLSServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "https://")
	ref := host + "/tls/img:1"
	img := randomImage(t)
	r, _ := parseRef(t, ref)
	if err := remote.Write(r, img, remote.WithTransport(srv.Client().Transport)); err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(caFile, certPEM, 0o644); err != nil {
		t.Fatal(err)
	}

	if _, err := New(nil).Pull(context.Background(), newStore(t), ref, linuxAmd64); err == nil {
		t.Error("pull from a registry with an unknown CA succeeded")
	}
	for name, rc := range map[string]config.Registry{
		"ca":       {CA: []string{caFile}},
		"insecure": {Insecure: true},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := &config.Config{Registries: map[string]config.Registry{host: rc}}
			s := newStore(t)
			desc, err := New(cfg).Pull(context.Background(), s, ref, linuxAmd64)
			if err != nil {
				t.Fatal(err)
			}
			assertSameImage(t, s, desc, linuxAmd64, img)
		})
	}
}

func TestBadCAFile(t *testing.T) {
	cfg := &config.Config{Registries: map[string]config.Registry{"example.test": {CA: []string{"/nonexistent/ca.pem"}}}}
	_, err := New(cfg).Pull(context.Background(), newStore(t), "example.test/x:1", linuxAmd64)
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/ca.pem") {
		t.Errorf("want an error naming the CA file, got %v", err)
	}
}
