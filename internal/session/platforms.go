package session

import (
	"fmt"
	"strings"

	"github.com/containerd/platforms"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-build/kiln/internal/image"
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

// stampTargetPlatform gives the final image the platform asked for with
// --platform, as BuildKit does for an explicit target: a base image of
// another platform (an amd64-only base built for arm64) keeps its files but
// its config says the target's OS and architecture; the variant and OS
// version follow the target when it sets them or the architecture changed.
// Without --platform the image keeps its base's platform, as in BuildKit.
func stampTargetPlatform(img *image.Image, target ocispec.Platform) {
	p := &img.Config.Platform
	sameOSArch := p.OS == target.OS && p.Architecture == target.Architecture
	p.OS, p.Architecture = target.OS, target.Architecture
	if target.Variant != "" || !sameOSArch {
		p.Variant = target.Variant
	}
	if target.OSVersion != "" || !sameOSArch {
		p.OSVersion = target.OSVersion
	}
	if target.OSFeatures != nil {
		p.OSFeatures = append([]string(nil), target.OSFeatures...)
	}
}
