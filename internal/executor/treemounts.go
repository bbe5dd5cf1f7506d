package executor

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	"golang.org/x/sys/unix"

	"github.com/kiln-build/kiln/internal/snapshot"
)

// treeMounts emulates a step's mounts in a copied tree: what a mount would
// show is copied to its target, and the target is kept out of the layer.
type treeMounts struct {
	root string
	hide func(rel string) // nil: the tree is not committed
	// reserved: the paths of a lent container root that are the
	// container's (its /dev, /etc/hosts where bound, its volumes): the
	// generated files and devices are not put there, and no mount may be.
	reserved   func(rel string) bool
	mountPoint func(rel string) // told of the container's /dev, /proc, /sys
	back       []copyBack       // writable mounts, copied back after the step
	made       []string         // the mount points mountPoints made ("dev")
	undo       []string         // made in the container's own /dev, removed after
	used       []string         // the container's mount points RUN gets
}

type copyBack struct{ inTree, source string }

// setup places /dev's nodes, the generated /etc files and the mounts.
func (t *treeMounts) setup(s Spec) error {
	hosts, err := hostsFile(s.Hostname, s.ExtraHosts)
	if err != nil {
		return err
	}
	resolv, err := resolvConf(hostResolvConf, false)
	if err != nil {
		return err
	}
	if err := t.mountPoints(); err != nil {
		return err
	}
	if err := t.devices(); err != nil {
		return err
	}
	for name, data := range map[string][]byte{"/etc/hosts": hosts, "/etc/resolv.conf": resolv} {
		if t.isReserved(name) {
			continue // the container's own file, as RUN would see it there
		}
		p, err := t.target(name, false)
		if err != nil {
			return err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return fmt.Errorf("writing %s in the step's tree: %w", name, err)
		}
	}
	for _, m := range s.Mounts {
		if t.isReserved(m.Destination) && !t.inContainerDev(m.Destination) {
			return fmt.Errorf("RUN --mount at %s: the builder container has a mount (or kiln's own files) there, which a step over the container's own root cannot replace", m.Destination)
		}
		var p string
		if t.inContainerDev(m.Destination) {
			p, err = t.placeInDev(m.Destination)
		} else {
			p, err = t.target(m.Destination, true)
		}
		if err != nil {
			return err
		}
		if m.Type == "tmpfs" {
			if err := os.Mkdir(p, 0o755); err != nil {
				return err
			}
			if err := os.Chmod(p, 0o1777); err != nil {
				return err
			}
			continue
		}
		if err := snapshot.CopyTree(m.Source, p); err != nil {
			return fmt.Errorf("copying the mount at %s in: %w", m.Destination, err)
		}
		if !slices.Contains(m.Options, "ro") {
			t.back = append(t.back, copyBack{inTree: p, source: m.Source})
		}
	}
	for _, d := range t.used {
		// A mount under /dev where the image has none takes /dev out of the
		// layer, as in root mode (target).
		if t.mountPoint != nil && (d != "dev" || len(t.undo) == 0) {
			t.mountPoint(d)
		}
	}
	return nil
}

// mountPoints makes /dev, /proc and /sys where the tree lacks them, and
// leaves them in the layer: runc makes them as mount points in root mode,
// and they stay there (as with BuildKit).
func (t *treeMounts) mountPoints() error {
	for _, d := range []string{"/dev", "/proc", "/sys"} {
		if t.isReserved(d) {
			t.used = append(t.used, d[1:])
			continue
		}
		p, err := securejoin.SecureJoin(t.root, d)
		if err != nil {
			return err
		}
		if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err := os.Mkdir(p, 0o755); err != nil {
			return fmt.Errorf("creating %s in the step's tree: %w", d, err)
		}
		if err := os.Chmod(p, 0o755); err != nil {
			return err
		}
		t.made = append(t.made, d[1:])
	}
	return nil
}

// devices makes /dev's nodes (CAP_MKNOD), unless /dev is the container's.
func (t *treeMounts) devices() error {
	if t.isReserved("/dev") {
		return nil
	}
	for _, d := range treeDevices {
		p, err := t.target("/dev/"+d.name, false)
		if err != nil {
			return err
		}
		if err := unix.Mknod(p, unix.S_IFCHR|0o666, int(unix.Mkdev(d.major, d.minor))); err != nil {
			return fmt.Errorf("creating /dev/%s in the step's tree: %w", d.name, err)
		}
		if err := unix.Chmod(p, 0o666); err != nil { // past the umask
			return err
		}
	}
	return nil
}

// target resolves dest in the tree (symlinks stay inside it), makes its
// parent directories, removes what is there, and hides the topmost path it
// made or replaced from the layer; for a step's mount (mount), a mount point
// mountPoints made above it instead.
func (t *treeMounts) target(dest string, mount bool) (string, error) {
	p, err := securejoin.SecureJoin(t.root, dest)
	if err != nil {
		return "", fmt.Errorf("resolving %s in the step's tree: %w", dest, err)
	}
	top := p
	for d := filepath.Dir(p); d != t.root && len(d) > len(t.root); d = filepath.Dir(d) {
		if _, err := os.Lstat(d); errors.Is(err, fs.ErrNotExist) {
			top = d
		}
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return "", fmt.Errorf("creating the parents of %s in the step's tree: %w", dest, err)
	}
	if err := os.RemoveAll(p); err != nil {
		return "", fmt.Errorf("replacing %s in the step's tree: %w", dest, err)
	}
	if t.hide != nil {
		rel, err := filepath.Rel(t.root, top)
		if err != nil {
			return "", err
		}
		rel = filepath.ToSlash(rel)
		// A mount under a mount point made for this step (a heredoc's
		// /dev/pipes where the tree had no /dev) takes that point out of
		// the layer too, as BuildKit's stub cleanup removes the parents it
		// made for a mount.
		for _, m := range t.made {
			if mount && strings.HasPrefix(rel, m+"/") {
				rel = m
			}
		}
		t.hide(rel)
	}
	return p, nil
}

// inContainerDev says whether dest is below a lent root's /dev, the
// container's own (a heredoc's /dev/pipes/EOF goes there).
func (t *treeMounts) inContainerDev(dest string) bool {
	d := path.Clean("/" + dest)
	return strings.HasPrefix(d, "/dev/") && t.isReserved("/dev")
}

// placeInDev makes room for a mount at dest in the container's /dev: only
// where nothing is, and what it made is removed after the step (undo).
func (t *treeMounts) placeInDev(dest string) (string, error) {
	p := filepath.Join(t.root, path.Clean("/"+dest))
	if _, err := os.Lstat(p); err == nil {
		return "", fmt.Errorf("RUN --mount at %s: the builder container's /dev has it already", dest)
	}
	top := p
	for d := filepath.Dir(p); d != filepath.Join(t.root, "dev"); d = filepath.Dir(d) {
		if _, err := os.Lstat(d); errors.Is(err, fs.ErrNotExist) {
			top = d
		}
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return "", fmt.Errorf("RUN --mount at %s in the container's /dev: %w", dest, err)
	}
	t.undo = append(t.undo, top)
	return p, nil
}

// removePlaced removes what placeInDev made.
func (t *treeMounts) removePlaced() error {
	var errs []error
	for _, p := range t.undo {
		errs = append(errs, os.RemoveAll(p))
	}
	return errors.Join(errs...)
}

// isReserved says whether dest (absolute in the tree) is the container's.
func (t *treeMounts) isReserved(dest string) bool {
	return t.reserved != nil && t.reserved(strings.TrimPrefix(path.Clean("/"+dest), "/"))
}

// copyOut gives the writable mounts (cache mounts) what the step left in
// them.
func (t *treeMounts) copyOut() error {
	for _, b := range t.back {
		if err := replaceContent(b.source, b.inTree); err != nil {
			return fmt.Errorf("copying a cache mount's content back: %w", err)
		}
	}
	return nil
}

// replaceContent makes the directory dst hold what src holds.
func replaceContent(dst, src string) error {
	fi, err := os.Lstat(src)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is no longer a directory", src)
	}
	old, err := os.ReadDir(dst)
	if err != nil {
		return err
	}
	for _, e := range old {
		if err := os.RemoveAll(filepath.Join(dst, e.Name())); err != nil {
			return err
		}
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := snapshot.CopyTree(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
			return err
		}
	}
	return nil
}
