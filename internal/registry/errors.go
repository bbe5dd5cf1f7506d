package registry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Errors a pull or push can be classified as; test with errors.Is.
var (
	ErrUnauthorized   = errors.New("authentication required: run `docker login` / kiln login")
	ErrNotFound       = errors.New("manifest unknown: no such tag or digest")
	ErrUnreachable    = errors.New("registry unreachable")
	ErrDigestMismatch = errors.New("digest mismatch")
	ErrCertificate    = errors.New("registry certificate not trusted")
)

// classify wraps err from an operation ("pulling", "pushing") on image with
// the matching sentinel, so every message names the image and the cause.
func classify(op, image string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrDigestMismatch) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s %s: %w", op, image, err)
	}
	// Before the status codes: on loopback go-containerregistry falls back
	// to plain http after a TLS failure, and reports both.
	if cerr := certError(err); cerr != nil {
		return fmt.Errorf("%s %s: %w", op, image, cerr)
	}
	var terr *transport.Error
	if errors.As(err, &terr) {
		switch {
		case terr.StatusCode == http.StatusUnauthorized || terr.StatusCode == http.StatusForbidden:
			return fmt.Errorf("%s %s: %w", op, image, authError(terr))
		case terr.StatusCode == http.StatusNotFound || hasCode(terr, transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode):
			return fmt.Errorf("%s %s: %w: %w", op, image, ErrNotFound, err)
		}
		return fmt.Errorf("%s %s: %w", op, image, err)
	}
	var berr *BlobError
	if errors.As(err, &berr) {
		// The manifest goes up only after every blob: nothing was tagged.
		return fmt.Errorf("%s %s: %w; the tag was not written (pushing again uploads only the missing blobs)", op, image, err)
	}
	var nerr net.Error
	var operr *net.OpError
	if errors.As(err, &operr) || errors.As(err, &nerr) {
		return fmt.Errorf("%s %s: %w: %w", op, image, ErrUnreachable, err)
	}
	return fmt.Errorf("%s %s: %w", op, image, err)
}

func hasCode(terr *transport.Error, codes ...transport.ErrorCode) bool {
	for _, d := range terr.Errors {
		for _, c := range codes {
			if d.Code == c {
				return true
			}
		}
	}
	return false
}

// AuthError is a registry answering 401 or 403. errors.Is(err,
// ErrUnauthorized) holds for it.
type AuthError struct {
	Host   string // the registry that refused, host[:port]
	Status int    // 401 or 403
	Detail string // the registry's own messages
}

func authError(terr *transport.Error) *AuthError {
	e := &AuthError{Status: terr.StatusCode}
	if terr.Request != nil && terr.Request.URL != nil {
		e.Host = terr.Request.URL.Host
	}
	var msgs []string
	for _, d := range terr.Errors {
		if d.Message != "" {
			msgs = append(msgs, d.Message)
		}
	}
	e.Detail = strings.Join(msgs, "; ")
	return e
}

func (e *AuthError) Error() string {
	host := e.Host
	if host == "" {
		host = "REGISTRY"
	}
	if e.Status == http.StatusForbidden {
		msg := fmt.Sprintf("access denied: %s answered 403 Forbidden", host)
		if e.Detail != "" {
			msg += " (" + e.Detail + ")"
		}
		return msg + "; the account logged in with `kiln login` (or docker login) may not do this"
	}
	return fmt.Sprintf("authentication required: %s answered 401 Unauthorized (no credentials for it in ~/.docker/config.json, or wrong ones); log in with `kiln login %s` (or docker login)", host, host)
}

func (e *AuthError) Is(target error) bool { return target == ErrUnauthorized }

// certError returns a message naming the registry whose TLS certificate
// failed verification and how to trust it, or nil when err is no such
// failure.
func certError(err error) error {
	var verr *tls.CertificateVerificationError
	var uaerr x509.UnknownAuthorityError
	var herr x509.HostnameError
	var cierr x509.CertificateInvalidError
	if !errors.As(err, &verr) && !errors.As(err, &uaerr) && !errors.As(err, &herr) && !errors.As(err, &cierr) {
		return nil
	}
	cause := err
	if verr != nil && verr.Err != nil {
		cause = verr.Err
	}
	host := "the registry"
	var uerr *url.Error
	if errors.As(err, &uerr) {
		if u, perr := url.Parse(uerr.URL); perr == nil && u.Host != "" {
			host = u.Host
		}
	}
	return fmt.Errorf("%w: %s presented a certificate that does not verify (%v); give the CA that signed it in kiln.toml ([registry.%q] ca = [\"/path/to/ca.pem\"]) or, to skip verification, insecure = true",
		ErrCertificate, host, cause, host)
}

// BlobError is the upload of one blob failing; nothing was tagged.
type BlobError struct {
	Digest v1.Hash
	Size   int64
	Repo   string // registry/repository
	Err    error
}

func (e *BlobError) Error() string {
	return fmt.Sprintf("uploading blob %s (%s) to %s: %v", e.Digest, humanSize(e.Size), e.Repo, shortCause(e.Err))
}

func (e *BlobError) Unwrap() error { return e.Err }

// shortCause prints a transport failure without the upload URL's opaque
// query (a long _state token): "PATCH http://host/v2/…/uploads/UUID: write:
// connection reset by peer".
func shortCause(err error) string {
	var uerr *url.Error
	if !errors.As(err, &uerr) {
		return err.Error()
	}
	u, _, _ := strings.Cut(uerr.URL, "?")
	return fmt.Sprintf("%s %s: %v", strings.ToUpper(uerr.Op), u, uerr.Err)
}

func humanSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
