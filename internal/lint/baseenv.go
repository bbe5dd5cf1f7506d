package lint

import (
	"os"
	"strings"
	"sync"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/store"
)

// BaseEnvFunc returns the env (KEY=VALUE) of a base image's config for a
// platform; ok is false when the image is not known.
type BaseEnvFunc func(ref string, p ocispec.Platform) (env []string, ok bool)

// StoreEnv looks base images up in the store at root, without the network,
// as the resolver of kiln build finds an image it need not pull. A store
// that does not exist (it is not created), an image it does not hold or
// one it cannot read is unknown. The store is opened on the first lookup.
func StoreEnv(root string) BaseEnvFunc {
	var (
		once sync.Once
		st   *store.Store
	)
	return func(ref string, p ocispec.Platform) ([]string, bool) {
		if strings.Contains(ref, "://") {
			return nil, false // oci-layout://: not a store name
		}
		once.Do(func() {
			if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
				return
			}
			st, _ = store.Open(root)
		})
		if st == nil {
			return nil, false
		}
		found, err := st.Lookup(ref)
		if err != nil {
			return nil, false
		}
		img, _, err := image.Load(st, found.Descriptor, p)
		if err != nil {
			return nil, false
		}
		return img.Config.Config.Env, true
	}
}

// WithContexts is f for a build with --build-context values (a name, as
// lower-case, to docker-image://REF, oci-layout://… or a directory): a FROM
// name with a docker-image context is REF, one with a directory has the
// empty config of scratch, and an OCI layout is unknown.
func (f BaseEnvFunc) WithContexts(contexts map[string]string) BaseEnvFunc {
	if f == nil || len(contexts) == 0 {
		return f
	}
	return func(ref string, p ocispec.Platform) ([]string, bool) {
		c, ok := contexts[strings.ToLower(ref)]
		switch {
		case !ok:
			return f(ref, p)
		case strings.HasPrefix(c, "docker-image://"):
			return f(strings.TrimPrefix(c, "docker-image://"), p)
		case strings.Contains(c, "://"):
			return nil, false
		}
		return nil, true
	}
}
