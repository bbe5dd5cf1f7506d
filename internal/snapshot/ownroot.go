package snapshot

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/layer"
	"github.com/kiln-build/kiln/internal/store"
	"github.com/kiln-build/kiln/internal/testhook"
)

// OwnRootCaps are ContainerCaps where RUN runs over the builder
// container's own root: its /proc, /dev and /sys are RUN's.
var OwnRootCaps = func() Capabilities {
	c := ContainerCaps
	c.Mode, c.OwnRoot = "container own-root", true
	return c
}()

// runMountPoints are the directories a RUN leaves in root mode where the
// image has none (runc makes them as mount points): over a container's
// own root they are the container's mounts, so the layer gets them as
// stubs (Active.MountPoint).
var runMountPoints = []string{"dev", "proc", "sys"}

// OwnRoot is Copy where each step's writable tree is the builder
// container's own root filesystem (kaniko's model): a process that can
// neither mount nor make namespaces can still give RUN a /proc, the
// container's, by running it at / itself. One step holds the root at a
// time (Prepare to Commit or Remove); the container's own files wait in a
// holding directory meanwhile and are back between steps (hostRoot).
// Views and PrepareDirs are Copy's trees in the store.
type OwnRoot struct {
	*Copy
	host *hostRoot
	slot chan struct{} // held by the step that has the root
}

// NewOwnRoot lends root ("/" in a container) to the steps of a build.
// keep are kiln's own paths there (the store, the context, ...): they stay
// in place, as the container's mount points do.
func NewOwnRoot(st *store.Store, fetch func(ctx context.Context, l image.Layer) error, root string, keep []string) (*OwnRoot, error) {
	// Registries are reached while another stage's step holds the root:
	// their CA bundle is read now, from the container's own /etc/ssl.
	if _, err := x509.SystemCertPool(); err != nil {
		return nil, fmt.Errorf("loading the container's CA certificates: %w", err)
	}
	h, err := newHostRoot(root, append(keep, st.Root()))
	if err != nil {
		return nil, err
	}
	c := NewCopy(st, fetch)
	c.caps = OwnRootCaps
	c.unpacked.caps = OwnRootCaps
	return &OwnRoot{Copy: c, host: h, slot: make(chan struct{}, 1)}, nil
}

// Prepare lends the root to a step and copies layers into it.
func (o *OwnRoot) Prepare(ctx context.Context, layers []image.Layer) (*Active, error) {
	dirs, err := o.lowerDirs(ctx, layers) // unpacked before the root is taken
	if err != nil {
		return nil, err
	}
	select {
	case o.slot <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	a, err := o.lend(dirs)
	if err != nil {
		<-o.slot
		return nil, err
	}
	return a, nil
}

func (o *OwnRoot) lend(dirs []string) (*Active, error) {
	work, err := o.store.TempDir("step")
	if err != nil {
		return nil, err
	}
	if err := o.host.lend(); err != nil {
		return nil, errors.Join(err, removeAll(work))
	}
	m := newMerger(o.caps)
	m.shadowed = map[string]bool{}
	m.reserved = func(dst string) (bool, bool) {
		rel, _ := filepath.Rel(o.host.root, dst)
		return o.host.reserved(filepath.ToSlash(rel))
	}
	a := &Active{Root: o.host.root, work: work, lent: o.host.reserved}
	fail := func(err error) (*Active, error) {
		return nil, errors.Join(err, o.host.giveBack(), removeAll(work))
	}
	if err := m.merge(dirs, o.host.root); err != nil {
		return fail(fmt.Errorf("copying the layers over the container's root: %w", err))
	}
	if a.index, err = indexTree(a.Root, filepath.Join(o.host.root, heldName, "clock"), o.host.keep); err != nil {
		return fail(err)
	}
	a.lacking = map[string]bool{}
	for _, d := range runMountPoints {
		if o.host.keep[d] && !m.shadowed[filepath.Join(o.host.root, d)] {
			a.lacking[d] = true
		}
	}
	return a, nil
}

// Commit writes what changed at the root since Prepare as a layer, gives
// the root back, and unpacks the layer for the steps after.
func (o *OwnRoot) Commit(ctx context.Context, a *Active, lo layer.Options) (*image.Layer, error) {
	if a.lent == nil {
		return o.Copy.Commit(ctx, a, lo)
	}
	hidden := map[string]bool{}
	for k := range a.hidden {
		hidden[k] = true
	}
	for k := range o.host.keep {
		hidden[k] = true
	}
	changes, err := diffTree(a.Root, a.index, hidden)
	if err == nil && len(a.stubs) > 0 {
		changes.Stubs = a.stubs
		for d := range a.stubs {
			changes.Write[d] = true
		}
	}
	var l image.Layer
	if err == nil {
		l, err = o.writeLayer(ctx, a.Root, changes, lo)
	}
	if err := o.giveBack(a); err != nil {
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	if _, err := o.layerDir(ctx, l); err != nil {
		return nil, err
	}
	testhook.Point(testhook.Commit) // before the cache entry
	return &l, nil
}

// Remove gives the root back without its changes.
func (o *OwnRoot) Remove(a *Active) error {
	if a.lent == nil {
		return o.Copy.Remove(a)
	}
	return o.giveBack(a)
}

func (o *OwnRoot) giveBack(a *Active) error {
	defer func() { <-o.slot }()
	a.lent = nil
	err := o.host.giveBack()
	o.discard(a)
	if err != nil {
		return fmt.Errorf("giving the container's root back: %w", err)
	}
	return nil
}

// Caps says what this mode can do.
func (o *OwnRoot) Caps() Capabilities { return o.caps }
