package registry

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// CheckLogin asks the registry at host to accept user and password, as
// docker login does before saving them: GET /v2/ with basic auth, or with a
// token from the registry's token service when it names one. kiln.toml's
// settings for host (ca, http, insecure) apply.
func (c *Client) CheckLogin(ctx context.Context, host, user, password string) error {
	var nopts []name.Option
	if c.cfg.Host(host).HTTP {
		nopts = append(nopts, name.Insecure)
	}
	reg, err := name.NewRegistry(host, nopts...)
	if err != nil {
		return fmt.Errorf("parsing registry %q: %w", host, err)
	}
	t, err := c.transport(reg.RegistryStr())
	if err != nil {
		return err
	}
	auth := authn.FromConfig(authn.AuthConfig{Username: user, Password: password})
	rt, err := transport.NewWithContext(ctx, reg, auth, t, nil)
	if err == nil {
		err = getV2(ctx, rt, reg)
	}
	var terr *transport.Error
	if errors.As(err, &terr) && (terr.StatusCode == http.StatusUnauthorized || terr.StatusCode == http.StatusForbidden) {
		return &LoginError{Host: reg.RegistryStr(), User: user, Status: terr.StatusCode}
	}
	if err != nil {
		return classify("logging in to", reg.RegistryStr(), err)
	}
	return nil
}

func getV2(ctx context.Context, rt http.RoundTripper, reg name.Registry) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, reg.Scheme()+"://"+reg.RegistryStr()+"/v2/", nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Transport: rt}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return transport.CheckError(resp, http.StatusOK)
}

// LoginError is a registry refusing the user name and password given to
// kiln login. errors.Is(err, ErrUnauthorized) holds for it.
type LoginError struct {
	Host, User string
	Status     int
}

func (e *LoginError) Error() string {
	return fmt.Sprintf("logging in to %s: the registry refused user %q with this password (%d %s); nothing was saved",
		e.Host, e.User, e.Status, http.StatusText(e.Status))
}

func (e *LoginError) Is(target error) bool { return target == ErrUnauthorized }
