package snapshot

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/layer"
	"github.com/kiln-build/kiln/internal/store"
	"github.com/kiln-build/kiln/internal/testhook"
)

// rootOverlayOptions keep the upperdir a faithful description of the
// change: without them a rename of a directory or a chmod leaves a redirect
// or metacopy xattr instead of the real content (BuildKit mounts the same
// way).
const rootOverlayOptions = "redirect_dir=off,metacopy=off,index=off"

// RootCaps are the capabilities of kiln run as root: overlayfs with
// trusted.* xattrs, and RUN in its own pid and network namespaces.
var RootCaps = Capabilities{
	Mode:           "root overlay",
	XattrPrefix:    "trusted.",
	OverlayOptions: rootOverlayOptions,
	FreshProc:      true,
	Mknod:          true,
	NetNS:          true,
}

// Overlay is the Snapshotter over overlayfs: the store's unpacked layers
// are the lower dirs, a step's upper dir becomes its layer's unpacked copy.
type Overlay struct {
	store *store.Store
	caps  Capabilities
	unpacked
	cacheDirs
	// noVolatile: the kernel refused "volatile". A writable mount is
	// volatile so that its unmount does not sync the whole upper
	// filesystem (~10 ms a step on a busy disk): an upper dir is never
	// mounted again, and as the unpacked layers its data is a copy of the
	// layer's blob, which the store syncs.
	noVolatile atomic.Bool
	removing   sync.WaitGroup
}

// NewOverlay returns the overlay snapshotter of a store for root. fetch
// brings a layer's blob into the store when it is not there (from an
// imported cache); nil means a missing blob is an error.
func NewOverlay(st *store.Store, fetch func(ctx context.Context, l image.Layer) error) *Overlay {
	return newOverlay(st, fetch, RootCaps)
}

func newOverlay(st *store.Store, fetch func(ctx context.Context, l image.Layer) error, caps Capabilities) *Overlay {
	return &Overlay{store: st, caps: caps, unpacked: unpacked{st, fetch, caps}, cacheDirs: cacheDirs{store: st}}
}

// Caps says what this mode can do.
func (o *Overlay) Caps() Capabilities { return o.caps }

// Prepare mounts layers writable over a new upper dir.
func (o *Overlay) Prepare(ctx context.Context, layers []image.Layer) (*Active, error) {
	lowers, err := o.lowerDirs(ctx, layers)
	if err != nil {
		return nil, err
	}
	return o.prepare(lowers)
}

// PrepareDirs mounts plain directories writable; see Snapshotter.
func (o *Overlay) PrepareDirs(_ context.Context, dirs []string) (*Active, error) {
	return o.prepare(dirs)
}

func (o *Overlay) prepare(lowers []string) (*Active, error) {
	work, err := o.store.TempDir("step")
	if err != nil {
		return nil, err
	}
	target, err := o.store.MountDir()
	if err != nil {
		os.RemoveAll(work)
		return nil, err
	}
	a := &Active{Root: target, UpperDir: filepath.Join(work, "upper"), work: work, target: target}
	if err := o.mount(lowers, target, a.UpperDir, filepath.Join(work, "work")); err != nil {
		o.discard(a)
		return nil, err
	}
	a.mounted = true
	return a, nil
}

// View mounts layers read-only.
func (o *Overlay) View(ctx context.Context, layers []image.Layer) (*View, error) {
	lowers, err := o.lowerDirs(ctx, layers)
	if err != nil {
		return nil, err
	}
	return o.ViewDirs(ctx, lowers)
}

// ViewDirs mounts plain directories read-only; see Snapshotter.
func (o *Overlay) ViewDirs(_ context.Context, dirs []string) (*View, error) {
	target, err := o.store.MountDir()
	if err != nil {
		return nil, err
	}
	if err := o.mount(dirs, target, "", ""); err != nil {
		os.Remove(target)
		return nil, err
	}
	return &View{Root: target, close: func() error {
		if err := unmount(target); err != nil {
			return err
		}
		return os.Remove(target)
	}}, nil
}

// Commit writes the upper dir as a layer: its tar goes to the blob store
// and the directory itself becomes the layer's unpacked copy, so it is
// never unpacked again. A step that changed nothing still makes a layer
// (an empty tar), as BuildKit does for RUN, COPY, ADD and WORKDIR.
func (o *Overlay) Commit(ctx context.Context, a *Active, lo layer.Options) (*image.Layer, error) {
	defer o.discard(a)
	if err := o.unmountActive(a); err != nil {
		return nil, err
	}
	lo.XattrPrefix = o.caps.XattrPrefix
	var l image.Layer
	_, _, err := o.store.WriteBlob(func(w io.Writer) error {
		var err error
		l, err = layer.WriteDiff(ctx, w, a.UpperDir, lo)
		testhook.Point(testhook.Commit) // the blob is written, not yet in place
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("writing layer: %w", err)
	}
	testhook.Point(testhook.Commit)
	if err := store.MarkLayerDir(a.UpperDir, o.caps.LayerMark()); err != nil {
		return nil, err
	}
	if err := o.store.CommitLayerDir(a.UpperDir, l.DiffID); err != nil {
		return nil, err
	}
	testhook.Point(testhook.Commit) // before the cache entry
	return &l, nil
}

// Remove unmounts an active mount and throws its changes away.
func (o *Overlay) Remove(a *Active) error {
	err := o.unmountActive(a)
	o.discard(a)
	return err
}

func (o *Overlay) unmountActive(a *Active) error {
	if !a.mounted {
		return nil
	}
	if err := unmount(a.Root); err != nil {
		return err
	}
	a.mounted = false
	return nil
}

// discard removes what an active mount made; a mount still in place (its
// unmount failed) is left for the store's stale cleanup. The mount point
// goes at once; the work directory's removal runs in the background, off
// the next step's path (a few ms of unlinks a step
// on a busy disk); Wait waits for it. What a killed process did not remove
// is its stale temporary directory, removed by the next command.
func (o *Overlay) discard(a *Active) {
	if a.mounted {
		return
	}
	os.Remove(a.target) // the empty mount point: gone when Remove returns
	o.removing.Add(1)
	go func() {
		defer o.removing.Done()
		os.RemoveAll(a.work)
	}()
}

// Wait waits for the removals discard started.
func (o *Overlay) Wait() { o.removing.Wait() }

// mount mounts lowers (top first, over the store's empty directory) at
// target, writable when upper is set.
func (o *Overlay) mount(lowers []string, target, upper, work string) error {
	if upper == "" && len(lowers) == 0 {
		// A read-only view of nothing (a scratch stage as a mount's
		// source): overlay wants two lower dirs without an upper one.
		return bindReadOnly(o.store.EmptyDir(), target)
	}
	// Lower dirs of one directory (the store's layers) are named relative
	// to it, so that about 230 fit in the page the kernel takes options in
	// instead of about 110.
	dir, names := relativeLowers(lowers)
	opts := "lowerdir=" + strings.Join(append(names, o.store.EmptyDir()), ":")
	var flags uintptr = unix.MS_RDONLY
	if upper != "" {
		for _, d := range []string{upper, work} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return fmt.Errorf("creating overlay directory: %w", err)
			}
		}
		// Absolute: the mount may run in another working directory (mountIn).
		var err error
		if upper, err = filepath.Abs(upper); err != nil {
			return err
		}
		if work, err = filepath.Abs(work); err != nil {
			return err
		}
		opts += ",upperdir=" + upper + ",workdir=" + work
		flags = 0
	}
	if o.caps.OverlayOptions != "" {
		opts += "," + o.caps.OverlayOptions
	}
	if len(opts) >= unix.Getpagesize() {
		return fmt.Errorf("mounting overlay: %d layers exceed the kernel's mount option size", len(lowers))
	}
	volatile := upper != "" && !o.noVolatile.Load()
	if volatile && mountIn(dir, target, flags, opts+",volatile") == nil {
		return nil
	}
	if err := mountIn(dir, target, flags, opts); err != nil {
		return fmt.Errorf("mounting overlay at %s: %w", target, err)
	}
	if volatile {
		o.noVolatile.Store(true) // refused (a kernel before 5.10), the plain mount was not
	}
	return nil
}

// relativeLowers names lowers relative to their common directory when they
// have one (dir "" otherwise: the names are the paths).
func relativeLowers(lowers []string) (dir string, names []string) {
	names = append([]string(nil), lowers...)
	if len(lowers) == 0 {
		return "", names
	}
	dir = filepath.Dir(lowers[0])
	for _, l := range lowers {
		if filepath.Dir(l) != dir || !filepath.IsAbs(l) {
			return "", names
		}
	}
	for i, l := range lowers {
		names[i] = filepath.Base(l)
	}
	return dir, names
}

// mountIn mounts an overlay whose relative lower dirs are in dir. The
// working directory is the process's, so the mount runs on a thread of
// its own that unshares it (CLONE_FS) and changes it; that thread is never
// handed back to the Go scheduler: it ends with its goroutine.
func mountIn(dir, target string, flags uintptr, opts string) error {
	if dir == "" {
		return unix.Mount("overlay", target, "overlay", flags, opts)
	}
	abs, err := filepath.Abs(target)
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // no UnlockOSThread: the thread's cwd is not the process's
		if err := unix.Unshare(unix.CLONE_FS); err != nil {
			done <- fmt.Errorf("unshare(CLONE_FS): %w", err)
			return
		}
		if err := unix.Chdir(dir); err != nil {
			done <- err
			return
		}
		done <- unix.Mount("overlay", abs, "overlay", flags, opts)
	}()
	return <-done
}

// bindReadOnly bind-mounts dir at target, read-only.
func bindReadOnly(dir, target string) error {
	if err := unix.Mount(dir, target, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind-mounting %s at %s: %w", dir, target, err)
	}
	if err := unix.Mount("", target, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
		_ = unix.Unmount(target, unix.MNT_DETACH)
		return fmt.Errorf("making %s read-only: %w", target, err)
	}
	return nil
}

// unmount detaches a mount, lazily when it is busy.
func unmount(target string) error {
	if err := unix.Unmount(target, 0); err != nil {
		if err2 := unix.Unmount(target, unix.MNT_DETACH); err2 != nil {
			return fmt.Errorf("unmounting %s: %w", target, err)
		}
	}
	return nil
}
