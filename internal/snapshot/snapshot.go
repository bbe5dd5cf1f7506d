// Package snapshot gives build steps their root filesystems: image layers
// mounted read-only (View) or writable (Prepare), a writable mount's
// changes committed as a layer (Commit) or thrown away (Remove), and the
// persistent directories of RUN cache mounts with their locks. Each
// implementation also says what the mode it runs in can do (Capabilities),
// so the executor refuses the rest instead of ignoring it.
//
// Overlay is the implementation for root: overlayfs over the store's
// unpacked layers. Copy is the one for a process that cannot mount (root
// in an ordinary container): copies, and diffs by walking.
package snapshot

import (
	"context"
	"os"
	"strings"

	digest "github.com/opencontainers/go-digest"

	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/layer"
)

// Snapshotter makes the root filesystems of build steps.
type Snapshotter interface {
	// Prepare mounts layers (bottom first) writable for one step.
	Prepare(ctx context.Context, layers []image.Layer) (*Active, error)
	// View mounts layers (bottom first) read-only.
	View(ctx context.Context, layers []image.Layer) (*View, error)
	// Commit writes the active mount's changes as a layer (its blob and its
	// unpacked directory in the store), an empty tar when nothing changed (as
	// BuildKit writes it). The active mount is gone afterwards, whatever the
	// outcome.
	Commit(ctx context.Context, a *Active, o layer.Options) (*image.Layer, error)
	// Remove unmounts an active mount and throws its changes away.
	Remove(a *Active) error

	// ViewDirs mounts plain directories (top first) read-only as one tree:
	// a directory of whiteouts over the build context hides its ignored
	// files.
	ViewDirs(ctx context.Context, dirs []string) (*View, error)
	// PrepareDirs mounts plain directories (top first) writable; Remove
	// throws the writes away (RUN --mount=type=bind,rw).
	PrepareDirs(ctx context.Context, dirs []string) (*Active, error)

	// CacheDir is a RUN cache mount's persistent directory, after its
	// sharing mode is applied; release gives it back.
	CacheDir(ctx context.Context, r CacheRequest) (dir string, release func(), err error)

	Caps() Capabilities
}

// Capabilities say what a mode can do; the executor refuses the rest.
type Capabilities struct {
	Mode string // named in refusals: "root overlay"
	// XattrPrefix is the namespace of overlay's opaque-directory mark in
	// unpacked layers and upper dirs: "trusted." for root, "user." for a
	// user-namespace mount with userxattr.
	XattrPrefix string
	// OverlayOptions are the overlay mount options after lowerdir, upperdir
	// and workdir ("" for an implementation that does not use overlayfs).
	OverlayOptions string
	FreshProc      bool // RUN gets its own /proc (a pid namespace it owns)
	Mknod          bool // RUN may make device nodes
	NetNS          bool // RUN --network=none gets its own network namespace
	// Rootless: runc runs in a user namespace, without cgroups or sysfs.
	Rootless bool
	// Copy: steps' trees are copies, not mounts (no runc): RUN runs in
	// kiln's own namespaces.
	Copy bool
	// OwnRoot: a step's tree is the builder container's own root (OwnRoot),
	// so RUN has the container's /proc, /dev and /sys.
	OwnRoot bool
}

// Active is a writable root filesystem for one step.
type Active struct {
	Root string // where the step sees it
	// UpperDir collects the changes made through Root on an overlay mount
	// ("" for an implementation that finds them otherwise).
	UpperDir string
	work     string // private area of the mount, removed with it
	target   string // mount point, removed with it
	mounted  bool
	index    treeIndex       // a copied tree's stamps before the step
	hidden   map[string]bool // kept out of a copied tree's diff
	// lent says, of a lent container root, which paths are the container's
	// (a mount point, kiln's own) or lie above one (OwnRoot).
	lent func(rel string) (kept, above bool)
	// lacking: the run mount points the image has none of; stubs: those a
	// RUN used, written into the layer as empty directories.
	lacking, stubs map[string]bool
	// A lent root's chain (DiffIDs), its layers' directories (top first)
	// and the reserved paths the image has entries at (OwnRoot).
	chain    []digest.Digest
	dirs     []string
	shadowed map[string]bool
}

// MountPoint tells a lent root's Active that a RUN used the mount point
// rel (dev, proc or sys): where the image has none, the layer gets one, as
// runc leaves it in root mode. Elsewhere it does nothing.
func (a *Active) MountPoint(rel string) {
	if !a.lacking[rel] {
		return
	}
	if a.stubs == nil {
		a.stubs = map[string]bool{}
	}
	a.stubs[rel] = true
}

// Reserved says whether rel (a slash path relative to Root) is where the
// step must not write: at, below or above a mount of the builder
// container whose root the step holds (OwnRoot). Always false elsewhere.
func (a *Active) Reserved(rel string) bool {
	if a.lent == nil {
		return false
	}
	kept, above := a.lent(rel)
	return kept || above && strings.Trim(rel, "/") != ""
}

// Kept says whether rel is at or below a mount of the builder container
// whose root the step holds (a write there would reach the volume).
func (a *Active) Kept(rel string) bool {
	if a.lent == nil {
		return false
	}
	kept, _ := a.lent(rel)
	return kept
}

// Hide keeps rel (a slash path relative to Root) and what is below it out
// of the committed layer: the target of a mount a copying snapshotter's
// executor emulates by copying in. Overlay mounts never reach the upper
// dir, so there it changes nothing.
func (a *Active) Hide(rel string) {
	if a.hidden == nil {
		a.hidden = map[string]bool{}
	}
	a.hidden[rel] = true
}

// View is a read-only root filesystem; Close unmounts it.
type View struct {
	Root  string
	close func() error
}

// Close unmounts the view and removes its mount point.
func (v *View) Close() error { return v.close() }

// CacheRequest names a cache mount's directory and how it is shared.
type CacheRequest struct {
	ID      string // store identity: the id, plus its base's identity when it has one
	Sharing string // shared, private or locked (BuildKit's sharing=)
	// Mode, UID and GID are a new directory's, when Seed is nil.
	Mode     os.FileMode
	UID, GID int
	// Seed, if set, fills a new cache (from=): it copies into dst, a path
	// that does not exist yet. The cache is then the seeded directory.
	Seed func(ctx context.Context, dst string) error
}
