package registry

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Errors a pull or push can be classified as; test with errors.Is.
var (
	ErrUnauthorized   = errors.New("authentication required: run `docker login` / kiln login")
	ErrNotFound       = errors.New("manifest unknown: no such tag or digest")
	ErrUnreachable    = errors.New("registry unreachable")
	ErrDigestMismatch = errors.New("digest mismatch")
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
	var terr *transport.Error
	if errors.As(err, &terr) {
		switch {
		case terr.StatusCode == http.StatusUnauthorized || terr.StatusCode == http.StatusForbidden:
			return fmt.Errorf("%s %s: %w: %w", op, image, ErrUnauthorized, err)
		case terr.StatusCode == http.StatusNotFound || hasCode(terr, transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode):
			return fmt.Errorf("%s %s: %w: %w", op, image, ErrNotFound, err)
		}
		return fmt.Errorf("%s %s: %w", op, image, err)
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
