package attest

import (
	"fmt"

	digest "github.com/opencontainers/go-digest"
)

func digestOf(s string) digest.Digest { return digest.Digest(s) }

func fmtAny(v any) string { return fmt.Sprintf("%+v", v) }
