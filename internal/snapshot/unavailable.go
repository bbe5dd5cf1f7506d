package snapshot

import (
	"context"
	"errors"

	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/layer"
)

// ErrUnavailable is what an Unavailable snapshotter answers every request
// with.
var ErrUnavailable = errors.New("no filesystem can be mounted or unpacked here")

// Unavailable mounts, copies and unpacks nothing. A build answered from the
// cache alone (solver.Options.CacheOnly) uses it outside the user namespace
// its mode's steps need: a layer unpacked there would get the plain user's
// owners, not the mapped ones.
type Unavailable struct{ caps Capabilities }

// NewUnavailable is an Unavailable snapshotter reporting caps.
func NewUnavailable(caps Capabilities) *Unavailable { return &Unavailable{caps: caps} }

func (u *Unavailable) Prepare(context.Context, []image.Layer) (*Active, error) {
	return nil, ErrUnavailable
}

func (u *Unavailable) View(context.Context, []image.Layer) (*View, error) { return nil, ErrUnavailable }

func (u *Unavailable) Commit(context.Context, *Active, layer.Options) (*image.Layer, error) {
	return nil, ErrUnavailable
}

func (u *Unavailable) Remove(*Active) error { return ErrUnavailable }

func (u *Unavailable) ViewDirs(context.Context, []string) (*View, error) { return nil, ErrUnavailable }

func (u *Unavailable) PrepareDirs(context.Context, []string) (*Active, error) {
	return nil, ErrUnavailable
}

func (u *Unavailable) CacheDir(context.Context, CacheRequest) (string, func(), error) {
	return "", nil, ErrUnavailable
}

func (u *Unavailable) Caps() Capabilities { return u.caps }

// Wait returns at once: nothing is ever in flight.
func (u *Unavailable) Wait() {}
