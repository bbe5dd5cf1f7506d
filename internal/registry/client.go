// Package registry pulls images from registries into kiln's store and pushes
// them back out. It builds on go-containerregistry's remote package and adds
// what that lacks: registry mirrors and per-host settings from kiln.toml.
package registry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/kiln-build/kiln/internal/config"
)

// Client talks to registries as kiln.toml configures them. Credentials come
// from ~/.docker/config.json (and its credential helpers).
type Client struct {
	cfg *config.Config
	// Keychain resolves credentials; authn.DefaultKeychain unless replaced.
	Keychain authn.Keychain
	// Jobs bounds parallel blob transfers per image.
	Jobs int
}

// New returns a client for the registries cfg configures (nil: defaults).
func New(cfg *config.Config) *Client {
	if cfg == nil {
		cfg = &config.Config{}
	}
	return &Client{cfg: cfg, Keychain: authn.DefaultKeychain, Jobs: 4}
}

// source is one place to fetch an image from: a mirror or the registry.
type source struct {
	ref  name.Reference
	opts []remote.Option
}

// parse reads an image reference as Docker does ("node:20" is
// docker.io/library/node:20), honouring http=true for its registry.
func (c *Client) parse(ref string) (name.Reference, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, fmt.Errorf("parsing image name %q: %w", ref, err)
	}
	if !c.cfg.Host(r.Context().RegistryStr()).HTTP {
		return r, nil
	}
	return name.ParseReference(ref, name.Insecure)
}

// sources lists the mirrors configured for ref's registry, then the registry.
func (c *Client) sources(ctx context.Context, ref name.Reference) ([]source, error) {
	host := ref.Context().RegistryStr()
	var out []source
	for _, m := range c.cfg.Host(host).Mirrors {
		mref, err := c.onMirror(ref, m)
		if err != nil {
			return nil, err
		}
		opts, err := c.options(ctx, mref.Context().RegistryStr())
		if err != nil {
			return nil, err
		}
		out = append(out, source{ref: mref, opts: opts})
	}
	opts, err := c.options(ctx, host)
	if err != nil {
		return nil, err
	}
	return append(out, source{ref: ref, opts: opts}), nil
}

// onMirror moves ref to a mirror, keeping its repository path:
// docker.io/library/node:20 on 127.0.0.1:5000 is 127.0.0.1:5000/library/node:20.
// A mirror may carry a path prefix ("mirror.example/dockerhub").
func (c *Client) onMirror(ref name.Reference, mirror string) (name.Reference, error) {
	m := strings.TrimSuffix(mirror, "/")
	var nopts []name.Option
	if rest, ok := strings.CutPrefix(m, "http://"); ok {
		m, nopts = rest, append(nopts, name.Insecure)
	}
	m = strings.TrimPrefix(m, "https://")
	host, _, _ := strings.Cut(m, "/")
	if c.cfg.Host(host).HTTP {
		nopts = append(nopts, name.Insecure)
	}
	repo, err := name.NewRepository(m+"/"+ref.Context().RepositoryStr(), nopts...)
	if err != nil {
		return nil, fmt.Errorf("parsing mirror %q: %w", mirror, err)
	}
	if d, ok := ref.(name.Digest); ok {
		return repo.Digest(d.DigestStr()), nil
	}
	return repo.Tag(ref.Identifier()), nil
}

// options are the remote options for one registry host.
func (c *Client) options(ctx context.Context, host string) ([]remote.Option, error) {
	t, err := c.transport(host)
	if err != nil {
		return nil, err
	}
	return []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(c.Keychain),
		remote.WithTransport(t),
		remote.WithJobs(c.jobs()),
		remote.WithUserAgent("kiln"),
	}, nil
}

// transport applies insecure=true and ca=[...] for host.
func (c *Client) transport(host string) (http.RoundTripper, error) {
	rc := c.cfg.Host(host)
	t := remote.DefaultTransport.(*http.Transport).Clone()
	if !rc.Insecure && len(rc.CA) == 0 {
		return t, nil
	}
	tc := &tls.Config{InsecureSkipVerify: rc.Insecure} //nolint:gosec // asked for by insecure=true
	if len(rc.CA) > 0 {
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		for _, f := range rc.CA {
			pem, err := os.ReadFile(f)
			if err != nil {
				return nil, fmt.Errorf("reading CA file for %s: %w", host, err)
			}
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("reading CA file for %s: no certificate in %s", host, f)
			}
		}
		tc.RootCAs = pool
	}
	t.TLSClientConfig = tc
	return t, nil
}

func (c *Client) jobs() int {
	if c.Jobs < 1 {
		return 4
	}
	return c.Jobs
}
