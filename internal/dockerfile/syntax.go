package dockerfile

import (
	"fmt"
	"regexp"
)

// builtinSyntax matches the `# syntax=` images whose frontend kiln has built
// in: docker/dockerfile (any 1.x tag, -labs included, optionally on
// docker.io and pinned by digest).
var builtinSyntax = regexp.MustCompile(
	`^(docker\.io/)?docker/dockerfile(-upstream)?(:1(\.[0-9]+){0,2}(-labs)?|:latest|:labs)?(@sha256:[0-9a-f]{64})?$`)

// IsBuiltinSyntax reports whether a `# syntax=` image names the Dockerfile
// frontend kiln implements itself.
func IsBuiltinSyntax(image string) bool {
	return builtinSyntax.MatchString(image)
}

// ErrCustomFrontend is returned (inside a *LocationError) for a `# syntax=`
// image kiln cannot run.
type ErrCustomFrontend struct {
	Image string
}

func (e *ErrCustomFrontend) Error() string {
	return fmt.Sprintf("custom Dockerfile frontends are not supported: %s (kiln has the dockerfile:1 syntax built in)", e.Image)
}
