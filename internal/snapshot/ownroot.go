package snapshot

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"

	digest "github.com/opencontainers/go-digest"

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
// holding directory meanwhile (hostRoot). A committed step leaves the
// root lent, holding its result: the next step that continues it (the
// next RUN of the stage, usually) starts there without copying the chain
// again; any other step gives the root back first, and so does Wait, at
// the end of the build. Views and PrepareDirs are Copy's trees in the
// store.
type OwnRoot struct {
	*Copy
	host *hostRoot
	slot *rootSlot
}

// rootSlot is one lent root's turn, shared by every OwnRoot of a process
// over that root (bake's targets), so that any of them can take the root
// back from a resident step result.
type rootSlot struct {
	turn     chan struct{} // held by whoever uses the root or resident
	resident *resident     // the root left lent by a Commit, or nil
}

// resident is a root left lent, holding chain (DiffIDs, bottom first).
type resident struct {
	owner    *OwnRoot
	chain    []digest.Digest
	shadowed map[string]bool
}

var (
	slotsMu sync.Mutex
	slots   = map[string]*rootSlot{}
)

func slotOf(root string) *rootSlot {
	slotsMu.Lock()
	defer slotsMu.Unlock()
	s := slots[root]
	if s == nil {
		s = &rootSlot{turn: make(chan struct{}, 1)}
		slots[root] = s
	}
	return s
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
	return &OwnRoot{Copy: c, host: h, slot: slotOf(h.root)}, nil
}

// Prepare lends the root to a step and copies layers into it, or, when
// the root still holds exactly layers (the step before left it), indexes
// it as it is.
func (o *OwnRoot) Prepare(ctx context.Context, layers []image.Layer) (*Active, error) {
	dirs, err := o.lowerDirs(ctx, layers) // unpacked before the root is taken
	if err != nil {
		return nil, err
	}
	select {
	case o.slot.turn <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if r := o.slot.resident; r != nil {
		o.slot.resident = nil
		if r.owner == o && slices.Equal(r.chain, diffIDs(layers)) {
			a, err := o.started(layers, dirs, r.shadowed)
			if err == nil {
				return a, nil
			}
			if gerr := o.host.giveBack(); gerr != nil {
				<-o.slot.turn
				return nil, errors.Join(err, gerr)
			}
		} else if err := r.owner.host.giveBack(); err != nil {
			<-o.slot.turn
			return nil, fmt.Errorf("giving the container's root back: %w", err)
		}
	}
	a, err := o.lend(layers, dirs)
	if err != nil {
		<-o.slot.turn
		return nil, err
	}
	return a, nil
}

func (o *OwnRoot) lend(layers []image.Layer, dirs []string) (*Active, error) {
	if err := o.host.lend(); err != nil {
		return nil, err
	}
	m := o.merger()
	m.shadowed = map[string]bool{}
	if err := m.merge(dirs, o.host.root); err != nil {
		return nil, errors.Join(fmt.Errorf("copying the layers over the container's root: %w", err), o.host.giveBack())
	}
	a, err := o.started(layers, dirs, m.shadowed)
	if err != nil {
		return nil, errors.Join(err, o.host.giveBack())
	}
	return a, nil
}

// started begins a step on the root as it is (copied in by lend, or left
// by the step before): its work directory, the index for its diff, and
// what the root holds.
func (o *OwnRoot) started(layers []image.Layer, dirs []string, shadowed map[string]bool) (*Active, error) {
	work, err := o.store.TempDir("step")
	if err != nil {
		return nil, err
	}
	a := &Active{Root: o.host.root, work: work, lent: o.host.reserved}
	if a.index, err = indexTree(a.Root, filepath.Join(o.host.root, heldName, "clock"), o.host.keep); err != nil {
		return nil, errors.Join(err, removeAll(work))
	}
	a.chain, a.dirs, a.shadowed = diffIDs(layers), dirs, shadowed
	a.lacking = map[string]bool{}
	for _, d := range runMountPoints {
		if o.host.keep[d] && !shadowed[filepath.Join(o.host.root, d)] {
			a.lacking[d] = true
		}
	}
	return a, nil
}

func (o *OwnRoot) merger() *merger {
	m := newMerger(o.caps)
	m.reserved = func(dst string) (bool, bool) {
		rel, _ := filepath.Rel(o.host.root, dst)
		return o.host.reserved(filepath.ToSlash(rel))
	}
	return m
}

func diffIDs(layers []image.Layer) []digest.Digest {
	ids := make([]digest.Digest, len(layers))
	for i, l := range layers {
		ids[i] = l.DiffID
	}
	return ids
}

// Commit writes what changed at the root since Prepare as a layer and
// unpacks it for the steps after. The root stays lent, holding the
// step's result (the targets of emulated mounts put back as the layers
// have them), for the next step to start from.
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
	var dir string
	if err == nil {
		l, err = o.writeLayer(ctx, a.Root, changes, lo)
	}
	if err == nil {
		dir, err = o.layerDir(ctx, l)
	}
	if err == nil {
		err = o.keepResident(a, l, dir)
	}
	if err != nil {
		return nil, errors.Join(err, o.giveBack(a))
	}
	testhook.Point(testhook.Commit) // before the cache entry
	return &l, nil
}

// keepResident leaves the root lent as the committed chain has it and
// gives up the turn.
func (o *OwnRoot) keepResident(a *Active, l image.Layer, dir string) error {
	dirs := append([]string{dir}, a.dirs...)
	m := o.merger()
	for rel := range a.hidden {
		if err := m.restore(dirs, a.Root, rel); err != nil {
			return fmt.Errorf("putting %s back after the step: %w", rel, err)
		}
	}
	shadowed := maps.Clone(a.shadowed)
	for d := range a.stubs {
		shadowed[filepath.Join(o.host.root, d)] = true
	}
	a.lent = nil
	o.discard(a)
	o.slot.resident = &resident{owner: o, chain: append(a.chain, l.DiffID), shadowed: shadowed}
	<-o.slot.turn
	return nil
}

// Remove gives the root back without its changes.
func (o *OwnRoot) Remove(a *Active) error {
	if a.lent == nil {
		return o.Copy.Remove(a)
	}
	return o.giveBack(a)
}

func (o *OwnRoot) giveBack(a *Active) error {
	defer func() { <-o.slot.turn }()
	a.lent = nil
	err := o.host.giveBack()
	o.discard(a)
	if err != nil {
		return fmt.Errorf("giving the container's root back: %w", err)
	}
	return nil
}

// Wait gives the container's root back (GiveBack): the build is over.
func (o *OwnRoot) Wait() { o.GiveBack() }

// GiveBack gives the container's root back if this build's last step left
// it lent: the build calls it when no step is left, before it exports.
func (o *OwnRoot) GiveBack() {
	o.slot.turn <- struct{}{}
	defer func() { <-o.slot.turn }()
	if r := o.slot.resident; r != nil && r.owner == o {
		o.slot.resident = nil
		if err := o.host.giveBack(); err != nil {
			// The next kiln over this root gives it back from the state file.
			fmt.Fprintf(os.Stderr, "kiln: giving the container's root back: %v\n", err)
		}
	}
}

// Caps says what this mode can do.
func (o *OwnRoot) Caps() Capabilities { return o.caps }
