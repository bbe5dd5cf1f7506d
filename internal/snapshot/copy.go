package snapshot

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/layer"
	"github.com/kiln-build/kiln/internal/store"
	"github.com/kiln-build/kiln/internal/testhook"
)

// ContainerCaps are the capabilities of kiln as root of an ordinary
// container (Docker's default capabilities and seccomp, no user
// namespace): no mounts and no new namespaces, so no own /proc and no
// network namespace; device nodes can be made (CAP_MKNOD). Opaque marks
// of unpacked layers are user.* xattrs: trusted.* needs CAP_SYS_ADMIN.
var ContainerCaps = Capabilities{
	Mode:        "container copy",
	XattrPrefix: "user.",
	Mknod:       true,
	Copy:        true,
}

// Copy is the Snapshotter that mounts nothing, for a process that cannot
// mount: a step's tree is a copy of its layers (reflinked where the
// filesystem can), and its changes are found by walking the tree against
// an index of it taken before the step, as BuildKit's native snapshotter
// diffs against the parent. Views are copies too: writes to them are
// thrown away on Close, never reaching the store.
type Copy struct {
	store *store.Store
	caps  Capabilities
	unpacked
	cacheDirs
}

// NewCopy returns the copying snapshotter of a store; fetch is as for
// NewOverlay.
func NewCopy(st *store.Store, fetch func(ctx context.Context, l image.Layer) error) *Copy {
	return &Copy{store: st, caps: ContainerCaps, unpacked: unpacked{st, fetch, ContainerCaps}, cacheDirs: cacheDirs{store: st}}
}

// Caps says what this mode can do.
func (c *Copy) Caps() Capabilities { return c.caps }

// Prepare copies the layers into a new tree and indexes it.
func (c *Copy) Prepare(ctx context.Context, layers []image.Layer) (*Active, error) {
	dirs, err := c.lowerDirs(ctx, layers)
	if err != nil {
		return nil, err
	}
	a, err := c.prepare(dirs)
	if err != nil {
		return nil, err
	}
	if a.index, err = indexTree(a.Root, filepath.Join(a.work, "clock"), nil); err != nil {
		c.discard(a)
		return nil, err
	}
	return a, nil
}

// PrepareDirs copies plain directories into a new tree; see Snapshotter.
func (c *Copy) PrepareDirs(_ context.Context, dirs []string) (*Active, error) {
	return c.prepare(dirs)
}

func (c *Copy) prepare(dirs []string) (*Active, error) {
	work, err := c.store.TempDir("step")
	if err != nil {
		return nil, err
	}
	a := &Active{Root: filepath.Join(work, "root"), work: work}
	if err := c.copyInto(dirs, a.Root); err != nil {
		c.discard(a)
		return nil, err
	}
	return a, nil
}

func (c *Copy) copyInto(dirs []string, root string) error {
	if err := os.Mkdir(root, 0o755); err != nil {
		return err
	}
	if err := newMerger(c.caps).merge(dirs, root); err != nil {
		return fmt.Errorf("copying the layers: %w", err)
	}
	return nil
}

// View copies layers into a new tree.
func (c *Copy) View(ctx context.Context, layers []image.Layer) (*View, error) {
	dirs, err := c.lowerDirs(ctx, layers)
	if err != nil {
		return nil, err
	}
	return c.ViewDirs(ctx, dirs)
}

// ViewDirs copies plain directories into a new tree; see Snapshotter.
func (c *Copy) ViewDirs(_ context.Context, dirs []string) (*View, error) {
	work, err := c.store.TempDir("view")
	if err != nil {
		return nil, err
	}
	root := filepath.Join(work, "root")
	if err := c.copyInto(dirs, root); err != nil {
		os.RemoveAll(work)
		return nil, err
	}
	return &View{Root: root, close: func() error { return os.RemoveAll(work) }}, nil
}

// Commit writes what changed in the tree since Prepare as a layer, and
// unpacks it as the layer's directory for the steps after.
func (c *Copy) Commit(ctx context.Context, a *Active, lo layer.Options) (*image.Layer, error) {
	defer c.discard(a)
	if a.index == nil {
		return nil, fmt.Errorf("committing a tree that was not prepared from layers")
	}
	changes, err := diffTree(a.Root, a.index, a.hidden)
	if err != nil {
		return nil, err
	}
	l, err := c.writeLayer(ctx, a.Root, changes, lo)
	if err != nil {
		return nil, err
	}
	// The tree is no longer needed: unpack the layer in its place.
	if err := os.RemoveAll(a.Root); err != nil {
		return nil, err
	}
	if _, err := c.layerDir(ctx, l); err != nil {
		return nil, err
	}
	testhook.Point(testhook.Commit) // before the cache entry
	return &l, nil
}

// writeLayer writes the changes of the tree at root as a layer blob.
func (c *Copy) writeLayer(ctx context.Context, root string, changes *layer.Changes, lo layer.Options) (image.Layer, error) {
	var l image.Layer
	_, _, err := c.store.WriteBlob(func(w io.Writer) error {
		var err error
		l, err = layer.WriteChanges(ctx, w, root, changes, lo)
		testhook.Point(testhook.Commit)
		return err
	})
	if err != nil {
		return l, fmt.Errorf("writing layer: %w", err)
	}
	return l, nil
}

// Remove throws the tree away.
func (c *Copy) Remove(a *Active) error {
	c.discard(a)
	return nil
}

func (c *Copy) discard(a *Active) { os.RemoveAll(a.work) }

// Wait returns at once: Copy removes its trees before Remove returns.
func (c *Copy) Wait() {}
