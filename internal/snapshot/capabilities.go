package snapshot

import (
	"context"

	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/isolation"
	"github.com/kiln-build/kiln/internal/store"
)

// rootlessOverlayOptions: userxattr keeps overlay's marks in user.* (a
// user namespace cannot write trusted.*) and implies no redirects and no
// metacopy, so the upper dir stays a plain description of the change; it
// refuses an explicit redirect_dir=off (EINVAL), as BuildKit finds.
const rootlessOverlayOptions = "userxattr,index=off"

// RootlessCaps are the capabilities of kiln as root of a user namespace.
var RootlessCaps = Capabilities{
	Mode:           "rootless overlay",
	XattrPrefix:    "user.",
	OverlayOptions: rootlessOverlayOptions,
	FreshProc:      true,
	NetNS:          true,
	Rootless:       true,
}

// RootlessNoProcCaps are RootlessCaps where /proc cannot be mounted (a
// container's masked /proc): RUN binds kiln's /proc, without PID isolation.
var RootlessNoProcCaps = func() Capabilities {
	c := RootlessCaps
	c.Mode, c.FreshProc = "rootless-noproc overlay", false
	return c
}()

// CapabilitiesFor returns what isolation mode m can do.
func CapabilitiesFor(m isolation.Mode) Capabilities {
	switch m {
	case isolation.Rootless:
		return RootlessCaps
	case isolation.RootlessNoProc:
		return RootlessNoProcCaps
	case isolation.Container:
		return ContainerCaps
	}
	return RootCaps
}

// Waiter is a Snapshotter whose removals may still run after Remove
// returns; Wait waits for them (before the store is let go).
type Waiter interface {
	Snapshotter
	Wait()
}

// NewFor returns the snapshotter of the isolation mode m: Copy for
// container mode, which cannot mount, else Overlay.
func NewFor(m isolation.Mode, st *store.Store, fetch func(ctx context.Context, l image.Layer) error) Waiter {
	if m == isolation.Container {
		return NewCopy(st, fetch)
	}
	return NewOverlayFor(m, st, fetch)
}

// NewOverlayFor is NewOverlay for the isolation mode m.
func NewOverlayFor(m isolation.Mode, st *store.Store, fetch func(ctx context.Context, l image.Layer) error) *Overlay {
	return newOverlay(st, fetch, CapabilitiesFor(m))
}

// LayerMark is what an unpacked layer directory records of the mode that
// made it: the xattr namespace of its opaque marks and the id mapping of
// its owners. A directory with another mark is unpacked again.
func (c Capabilities) LayerMark() string {
	return c.XattrPrefix + " " + isolation.IDMapKey()
}
