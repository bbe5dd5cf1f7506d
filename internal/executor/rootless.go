package executor

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// toRootless adapts a spec to runc in a user namespace, as BuildKit's
// rootless worker does: no /sys unless RUN has a network namespace of its
// own (sysfs cannot be mounted outside one, and an rbind would leave
// cgroups writable), no cgroup mount or resources, and bind mounts that
// keep the flags the kernel locks on mounts from a more privileged
// namespace. It returns the top-level mount points it dropped, which root
// mode leaves in the rootfs.
func toRootless(spec *specs.Spec) ([]string, error) {
	var kept []specs.Mount
	var dropped []string
	freshSys := ownNetwork(spec)
	for _, m := range spec.Mounts {
		if m.Destination == "/sys" && freshSys && m.Type == "sysfs" {
			kept = append(kept, m) // RUN --network=none: the namespace is ours
			continue
		}
		if m.Destination == "/sys" || strings.HasPrefix(m.Destination, "/sys/") {
			if m.Destination == "/sys" {
				dropped = append(dropped, m.Destination)
			}
			continue
		}
		if isBind(m) {
			locked, err := lockedFlags(m.Source)
			if err != nil {
				return nil, fmt.Errorf("checking mount %s: %w", m.Source, err)
			}
			m.Options = appendMissing(m.Options, locked...)
		}
		kept = append(kept, m)
	}
	spec.Mounts = kept
	spec.Linux.Resources = nil
	spec.Linux.CgroupsPath = ""
	return dropped, nil
}

// ownNetwork reports whether the spec makes a network namespace of its own
// (RUN --network=none), which the user namespace then owns.
func ownNetwork(spec *specs.Spec) bool {
	for _, n := range spec.Linux.Namespaces {
		if n.Type == specs.NetworkNamespace && n.Path == "" {
			return true
		}
	}
	return false
}

func isBind(m specs.Mount) bool {
	for _, o := range m.Options {
		if o == "bind" || o == "rbind" {
			return true
		}
	}
	return false
}

// lockedFlags are the flags of the mount holding path that a user
// namespace cannot clear on a bind mount of it (CL_UNPRIVILEGED).
func lockedFlags(path string) ([]string, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return nil, err
	}
	var out []string
	for _, f := range []struct {
		bit  int64
		name string
	}{{unix.MS_RDONLY, "ro"}, {unix.MS_NODEV, "nodev"}, {unix.MS_NOEXEC, "noexec"}, {unix.MS_NOSUID, "nosuid"},
		{unix.MS_NOATIME, "noatime"}, {unix.MS_RELATIME, "relatime"}, {unix.MS_NODIRATIME, "nodiratime"}} {
		if st.Flags&f.bit == f.bit {
			out = append(out, f.name)
		}
	}
	return out, nil
}

func appendMissing(opts []string, add ...string) []string {
	out := append([]string(nil), opts...)
	for _, a := range add {
		found := false
		for _, o := range out {
			found = found || o == a
		}
		if !found {
			out = append(out, a)
		}
	}
	return out
}

// makeDroppedStubs creates the mount points root mode's runc would have
// made (a missing /sys), so both modes commit the same layer.
func makeDroppedStubs(rootfs string, dests []string) error {
	for _, d := range dests {
		p, err := securejoin.SecureJoin(rootfs, d)
		if err != nil {
			return fmt.Errorf("resolving mount point %s: %w", d, err)
		}
		if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err := os.Mkdir(p, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("creating mount point %s: %w", filepath.Clean(d), err)
		}
	}
	return nil
}

// bindProc gives RUN the builder's own /proc where a fresh one cannot be
// mounted (a container's masked /proc): BuildKit's
// --oci-worker-no-process-sandbox. RUN then shares kiln's pid namespace and
// sees its processes; the /proc paths Docker masks are the container's
// business, so they are not masked again (a bind keeps the masks under it).
func bindProc(spec *specs.Spec) {
	var ns []specs.LinuxNamespace
	for _, n := range spec.Linux.Namespaces {
		if n.Type != specs.PIDNamespace {
			ns = append(ns, n)
		}
	}
	spec.Linux.Namespaces = ns
	for i, m := range spec.Mounts {
		if m.Destination == "/proc" {
			spec.Mounts[i] = specs.Mount{Destination: "/proc", Type: "bind", Source: "/proc", Options: []string{"rbind"}}
		}
	}
	notProc := func(p string) bool { return p != "/proc" && !strings.HasPrefix(p, "/proc/") }
	spec.Linux.MaskedPaths = filterPaths(spec.Linux.MaskedPaths, notProc)
	spec.Linux.ReadonlyPaths = filterPaths(spec.Linux.ReadonlyPaths, notProc)
}

func filterPaths(ps []string, keep func(string) bool) []string {
	var out []string
	for _, p := range ps {
		if keep(p) {
			out = append(out, p)
		}
	}
	return out
}
