// Package sandboxspec writes the runc configuration a container runtime
// gives a container under a CI system's or Kubernetes' security settings:
// Docker's default capabilities, seccomp profile and masked paths, plus
// what a recipe adds. The container tests (test/harness) and the modes
// bench (bench/benchtool sandbox-spec) run kiln's own-root and
// user-namespace modes under it.
package sandboxspec

import (
	"fmt"

	"github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Security is what a CI system or Kubernetes gives a container: the
// settings the recipes of docs/recipes.md declare, and nothing else.
type Security struct {
	// UserNS: the container has a user namespace of its own (Kubernetes
	// hostUsers: false, podman --userns=auto, dockerd userns-remap),
	// mapping its ids 0-65535 to host ids from IDBase.
	UserNS bool
	// AddCaps are added to Docker's default capability set (CAP_ names).
	AddCaps []string
	// Seccomp is "RuntimeDefault" (Docker's default profile, computed for
	// the capabilities) or "Unconfined".
	Seccomp string
	// NoNewPrivs is Kubernetes allowPrivilegeEscalation: false.
	NoNewPrivs bool
	// UID is runAsUser (0 by default).
	UID uint32
}

func (s Security) String() string {
	return fmt.Sprintf("userns=%v caps+=%v seccomp=%s no_new_privs=%v uid=%d", s.UserNS, s.AddCaps, s.Seccomp, s.NoNewPrivs, s.UID)
}

// IDBase is the first host id of a user-namespaced container's range.
const IDBase = 3000000

// DockerDefaultCaps is Docker's (and containerd's) default capability set.
var DockerDefaultCaps = []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
	"CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"}

// Docker's masked and read-only /proc and /sys paths (a masked /proc is
// why RUN cannot mount a fresh one in a user namespace).
var (
	dockerMaskedPaths = []string{"/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys",
		"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
		"/sys/firmware", "/sys/devices/virtual/powercap"}
	dockerReadonlyPaths = []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}
)

// Spec is the configuration of a container running args over rootfs with
// sec, the extra mounts after the runtime's own. It shares the host's
// network namespace: the tests' servers are on loopback.
func Spec(sec Security, rootfs string, args []string, mounts []specs.Mount) (*specs.Spec, error) {
	caps := append(append([]string(nil), DockerDefaultCaps...), sec.AddCaps...)
	spec := &specs.Spec{
		Version: specs.Version,
		Root:    &specs.Root{Path: rootfs},
		Process: &specs.Process{
			User: specs.User{UID: sec.UID, GID: sec.UID},
			Args: args,
			Env: []string{"PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root",
				"NO_PROXY=*", "no_proxy=*"},
			Cwd:             "/",
			NoNewPrivileges: sec.NoNewPrivs,
			Capabilities:    &specs.LinuxCapabilities{Bounding: caps, Effective: caps, Permitted: caps},
		},
		Hostname: "sandbox",
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
			{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}},
			{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
			{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
			// No tmpfs at /tmp: Docker and Kubernetes mount none there.
		},
		Linux: &specs.Linux{
			Namespaces: []specs.LinuxNamespace{{Type: specs.PIDNamespace}, {Type: specs.IPCNamespace},
				{Type: specs.UTSNamespace}, {Type: specs.MountNamespace}},
			MaskedPaths:   dockerMaskedPaths,
			ReadonlyPaths: dockerReadonlyPaths,
		},
	}
	if sec.UID != 0 {
		spec.Process.Env[1] = "HOME=/home/build"
	}
	if sec.UserNS {
		spec.Linux.Namespaces = append(spec.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		spec.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: IDBase, Size: 65536}}
		spec.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: IDBase, Size: 65536}}
		// sysfs needs a network namespace of the user namespace's own.
		spec.Mounts = append(spec.Mounts, specs.Mount{Destination: "/sys", Type: "none", Source: "/sys", Options: []string{"rbind", "nosuid", "noexec", "nodev", "ro"}})
	} else {
		spec.Mounts = append(spec.Mounts, specs.Mount{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}})
	}
	spec.Mounts = append(spec.Mounts, mounts...)
	switch sec.Seccomp {
	case "RuntimeDefault", "":
		sc, err := seccomp.GetDefaultProfile(spec)
		if err != nil {
			return nil, fmt.Errorf("the default seccomp profile: %w", err)
		}
		spec.Linux.Seccomp = sc
	case "Unconfined":
	default:
		return nil, fmt.Errorf("sandbox: unknown seccomp %q", sec.Seccomp)
	}
	return spec, nil
}
