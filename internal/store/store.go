// Package store is kiln's embedded on-disk store: content-addressed blobs,
// unpacked layers used as overlay lower dirs, image references, the step cache
// index and cache-mount directories. Every write goes to a temporary name in
// the store's tmp directory, is synced and then renamed into place, so a crash
// at any moment leaves either the old state or the new one.
package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/kiln-build/kiln/internal/isolation"
	"github.com/kiln-build/kiln/internal/procinfo"
	"github.com/kiln-build/kiln/internal/runcstate"
)

// Store is one store directory. Two kiln processes may use it at once.
type Store struct {
	root string
}

const (
	dirBlobs  = "blobs/sha256"
	dirLayers = "l"
	dirRefs   = "refs"
	dirCache  = "cache"
	dirTmp    = "tmp"
	dirMounts = "mnt"
	dirRun    = "run"
	dirEmpty  = "empty"
	dirCacheM = "cachemounts"
)

// DefaultRoot is /var/lib/kiln for root and $XDG_DATA_HOME/kiln otherwise
// (~/.local/share/kiln), also once kiln has entered a user namespace as a
// plain user and become root there.
func DefaultRoot() string {
	if os.Geteuid() == 0 && !isolation.InEnteredNS() {
		return "/var/lib/kiln"
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "kiln")
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".local", "share", "kiln")
}

// Open creates the store layout if needed and removes what crashed earlier
// processes left behind: their containers, secret directories, mounts and
// temporary files. Every kiln command opens the store, so every command
// cleans up.
func Open(root string) (*Store, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("resolving store root: %w", err)
	}
	s := &Store{root: abs}
	for _, d := range []string{dirBlobs, dirLayers, dirRefs, dirCache, dirTmp, dirMounts, dirRun, dirEmpty, dirCacheM} {
		if err := os.MkdirAll(s.path(d), 0o700); err != nil {
			return nil, fmt.Errorf("creating store directory: %w", err)
		}
	}
	// Dead builds' containers first: their mounts are busy until then.
	if err := runcstate.ReapDead(context.Background(), s.path(dirRun)); err != nil {
		return nil, fmt.Errorf("cleaning up after dead builds: %w", err)
	}
	reapSecretDirs()
	if err := s.cleanStale(); err != nil {
		return nil, err
	}
	return s, nil
}

// Root is the store's absolute directory.
func (s *Store) Root() string { return s.root }

func (s *Store) path(elem ...string) string {
	return filepath.Join(append([]string{s.root}, elem...)...)
}

// RunDir holds runc state and bundles.
func (s *Store) RunDir() string { return s.path(dirRun) }

// EmptyDir is an empty directory, the bottom lower dir of every overlay mount
// (overlayfs needs one when an image has no layers).
func (s *Store) EmptyDir() string { return s.path(dirEmpty) }

// TempDir makes a private working directory owned by this process. Its name
// starts with OwnerPrefix so that cleanStale can tell live ones from leftovers.
func (s *Store) TempDir(kind string) (string, error) {
	d, err := os.MkdirTemp(s.path(dirTmp), OwnerPrefix()+kind+"-")
	if err != nil {
		return "", fmt.Errorf("creating temporary directory: %w", err)
	}
	return d, nil
}

// MountDir makes a private mount point, named like TempDir.
func (s *Store) MountDir() (string, error) {
	d, err := os.MkdirTemp(s.path(dirMounts), OwnerPrefix())
	if err != nil {
		return "", fmt.Errorf("creating mount point: %w", err)
	}
	return d, nil
}

// CleanStale removes what dead processes left; call it again after their
// containers are gone, so their mounts are no longer busy.
func (s *Store) CleanStale() error { return s.cleanStale() }

// cleanStale unmounts and removes temporary entries of processes that are gone.
func (s *Store) cleanStale() error {
	for _, d := range []string{dirMounts, dirTmp} {
		entries, err := os.ReadDir(s.path(d))
		if err != nil {
			return fmt.Errorf("reading %s: %w", d, err)
		}
		for _, e := range entries {
			if OwnerAlive(e.Name()) {
				continue
			}
			p := s.path(d, e.Name())
			// Unmount everything below first (a step's rootfs, the
			// context view): removing through a mount would reach into
			// what is mounted, the user's context included.
			if err := unmountUnder(p); err != nil {
				return fmt.Errorf("unmounting stale %s: %w", p, err)
			}
			if err := removeAll(p); err != nil {
				return fmt.Errorf("removing stale %s: %w", p, err)
			}
		}
	}
	return nil
}

// OwnerPrefix starts the names of this process's temporary entries:
// "<pid>.<starttime>-", the start time (clock ticks since boot) guarding
// against a later process reusing the pid, or "<pid>-" if /proc cannot tell
// the start time.
func OwnerPrefix() string {
	if start := procinfo.SelfStartTime(); start != "" {
		return fmt.Sprintf("%d.%s-", os.Getpid(), start)
	}
	return fmt.Sprintf("%d-", os.Getpid())
}

// OwnerAlive reports whether the owner a temp name starts with
// ("<pid>.<starttime>-…", or "<pid>-…" as older kilns wrote) is still
// running: the pid is live, not a zombie and, if the name has a start time,
// started then. Other names have no live owner.
func OwnerAlive(name string) bool {
	owner, _, ok := strings.Cut(name, "-")
	if !ok {
		return false
	}
	pidStr, start, withStart := strings.Cut(owner, ".")
	pid, err := strconv.Atoi(pidStr)
	if err != nil || pid <= 0 {
		return false
	}
	if withStart {
		if _, err := strconv.ParseUint(start, 10, 64); err != nil {
			return false
		}
	}
	if pid == os.Getpid() {
		return !withStart || start == procinfo.SelfStartTime()
	}
	return procinfo.Alive(pid, start)
}

// removeAll also removes entries whose parent directory is read-only.
func removeAll(p string) error {
	err := os.RemoveAll(p)
	if err == nil {
		return nil
	}
	_ = filepath.Walk(p, func(path string, info os.FileInfo, err error) error {
		if err == nil && info.IsDir() {
			_ = os.Chmod(path, 0o700)
		}
		return nil
	})
	return os.RemoveAll(p)
}

// unmountUnder detaches every mount at or below dir, deepest first.
func unmountUnder(dir string) error {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	var points []string
	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMount(fields[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			points = append(points, mp)
		}
	}
	sort.Slice(points, func(i, j int) bool { return len(points[i]) > len(points[j]) })
	for _, mp := range points {
		if err := syscall.Unmount(mp, syscall.MNT_DETACH); err != nil && err != syscall.EINVAL && err != syscall.ENOENT {
			return err
		}
	}
	return nil
}

// unescapeMount decodes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, "\\") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
