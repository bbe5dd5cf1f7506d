package executor

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
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
	back []copyBack       // writable mounts, copied back after the step
	made []string         // the mount points mountPoints made ("dev")
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
		p, err := t.target(name, false)
		if err != nil {
			return err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return fmt.Errorf("writing %s in the step's tree: %w", name, err)
		}
	}
	for _, m := range s.Mounts {
		p, err := t.target(m.Destination, true)
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
	return nil
}

// mountPoints makes /dev, /proc and /sys where the tree lacks them, and
// leaves them in the layer: runc makes them as mount points in root mode,
// and they stay there (as with BuildKit).
func (t *treeMounts) mountPoints() error {
	for _, d := range []string{"/dev", "/proc", "/sys"} {
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

// devices makes /dev's nodes (CAP_MKNOD).
func (t *treeMounts) devices() error {
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
