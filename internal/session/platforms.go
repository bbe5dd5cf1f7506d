package session

import (
	"fmt"
	"strings"

	"github.com/containerd/platforms"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// targetPlatforms parses --platform values (each may be a comma list);
// none means this machine's platform.
func targetPlatforms(values []string) ([]ocispec.Platform, error) {
	var out []ocispec.Platform
	seen := map[string]bool{}
	for _, v := range values {
		for _, s := range strings.Split(v, ",") {
			s = strings.TrimSpace(s)
			if s == "" {
				continue
			}
			p, err := platforms.Parse(s)
			if err != nil {
				return nil, fmt.Errorf("invalid --platform %q: %w", s, err)
			}
			p = platforms.Normalize(p)
			if key := platforms.Format(p); !seen[key] {
				seen[key] = true
				out = append(out, p)
			}
		}
	}
	if len(out) == 0 {
		out = append(out, platforms.Normalize(platforms.DefaultSpec()))
	}
	return out, nil
}
