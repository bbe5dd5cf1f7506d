package instr

import (
	"sync"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/plan"
)

// Result is one platform's build: the target's image and what the build
// resolved and fetched on the way (provenance lists them), with every
// stage's image (--report's sizes). The session reads it once Build
// returns: nothing is reported back while stages run.
type Result struct {
	Image   *image.Image
	Stages  map[*plan.Stage]*image.Image
	Images  []ImageSource // every external image resolved, in the order asked
	Remotes []Remote      // every ADD URL and git source fetched
}

// ImageSource is an external image a stage named (FROM, COPY --from, a
// mount's from=), as written, with the platform asked for and the digest
// it resolved to.
type ImageSource struct {
	Ref      string
	Platform ocispec.Platform
	Digest   digest.Digest
}

// recorder collects a Result's sources from stages running at once.
type recorder struct {
	mu      sync.Mutex
	images  []ImageSource
	remotes []Remote
}

func (r *recorder) image(s ImageSource) {
	r.mu.Lock()
	r.images = append(r.images, s)
	r.mu.Unlock()
}

func (r *recorder) remote(s Remote) {
	r.mu.Lock()
	r.remotes = append(r.remotes, s)
	r.mu.Unlock()
}
