// Package snapshot mounts root filesystems as overlayfs over unpacked layers.
package snapshot

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Mount is a mounted root filesystem. With a writable mount, UpperDir
// collects exactly the changes made through Root.
type Mount struct {
	Root     string
	UpperDir string // "" for a read-only view
	workDir  string
}

// Options for a mount. Lowers are listed top layer first.
type Options struct {
	Lowers   []string
	Empty    string // an empty directory, the bottom lower of every mount
	Target   string // the mount point
	WorkArea string // directory for upper and work dirs; "" for a read-only mount
	// Caps give the overlay options; the zero value means RootCapabilities.
	Caps Capabilities
}

// MountOverlay mounts the layers at o.Target.
func MountOverlay(o Options) (*Mount, error) {
	lowers := append(append([]string(nil), o.Lowers...), o.Empty)
	opts := "lowerdir=" + strings.Join(lowers, ":")
	m := &Mount{Root: o.Target}
	if o.WorkArea != "" {
		m.UpperDir = filepath.Join(o.WorkArea, "upper")
		m.workDir = filepath.Join(o.WorkArea, "work")
		for _, d := range []string{m.UpperDir, m.workDir} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return nil, fmt.Errorf("creating overlay directory: %w", err)
			}
		}
		opts += ",upperdir=" + m.UpperDir + ",workdir=" + m.workDir
	}
	// The options keep the upperdir a faithful description of the change:
	// without them a rename of a directory or a chmod leaves a redirect or
	// metacopy xattr instead of the real content (BuildKit mounts the same way).
	ovlOpts := o.Caps.OverlayOptions
	if ovlOpts == "" {
		ovlOpts = RootCapabilities.OverlayOptions
	}
	opts += "," + ovlOpts
	if len(opts) >= unix.Getpagesize() {
		return nil, fmt.Errorf("mounting overlay: %d layers exceed the kernel's mount option size", len(o.Lowers))
	}
	var flags uintptr
	if o.WorkArea == "" {
		flags = unix.MS_RDONLY
	}
	if err := unix.Mount("overlay", o.Target, "overlay", flags, opts); err != nil {
		return nil, fmt.Errorf("mounting overlay at %s: %w", o.Target, err)
	}
	return m, nil
}

// Unmount detaches the mount; the upper dir stays for the caller to commit.
func (m *Mount) Unmount() error {
	if err := unix.Unmount(m.Root, 0); err != nil {
		if err2 := unix.Unmount(m.Root, unix.MNT_DETACH); err2 != nil {
			return fmt.Errorf("unmounting %s: %w", m.Root, err)
		}
	}
	if m.workDir != "" {
		_ = os.RemoveAll(m.workDir)
	}
	return nil
}

// IsEmptyDir reports whether a directory has no entries (a step changed nothing).
func IsEmptyDir(dir string) (bool, error) {
	f, err := os.Open(dir)
	if err != nil {
		return false, err
	}
	defer f.Close()
	names, err := f.Readdirnames(1)
	if len(names) == 0 && err != nil {
		return true, nil
	}
	return false, nil
}
