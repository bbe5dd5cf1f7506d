package executor

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/moby/buildkit/util/system"
	"github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/kiln-build/kiln/internal/snapshot"
)

// defaultCaps is Docker's (and BuildKit's) default capability set; for root
// it shows as CapEff 00000000a80425fb.
var defaultCaps = []string{
	"CAP_CHOWN",
	"CAP_DAC_OVERRIDE",
	"CAP_FSETID",
	"CAP_FOWNER",
	"CAP_MKNOD",
	"CAP_NET_RAW",
	"CAP_SETGID",
	"CAP_SETUID",
	"CAP_SETFCAP",
	"CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE",
	"CAP_SYS_CHROOT",
	"CAP_KILL",
	"CAP_AUDIT_WRITE",
}

var maskedPaths = []string{
	"/proc/acpi",
	"/proc/asound",
	"/proc/kcore",
	"/proc/keys",
	"/proc/latency_stats",
	"/proc/timer_list",
	"/proc/timer_stats",
	"/proc/sched_debug",
	"/proc/scsi",
	"/sys/firmware",
	"/sys/devices/virtual/powercap",
}

var readonlyPaths = []string{
	"/proc/bus",
	"/proc/fs",
	"/proc/irq",
	"/proc/sys",
	"/proc/sysrq-trigger",
}

type procUser struct {
	uid, gid uint32
	sgids    []uint32
}

// withPrimaryGid puts the primary gid first among the additional gids unless
// it is there, as BuildKit's runc worker does (containerd's
// ensureAdditionalGids): USER 1234 runs with groups=0(root).
func withPrimaryGid(gid uint32, sgids []uint32) []uint32 {
	if slices.Contains(sgids, gid) {
		return sgids
	}
	return append([]uint32{gid}, sgids...)
}

// buildSpec makes the runtime spec BuildKit's runc worker would: containerd's
// default Linux spec without /run, the host network unless "none", Docker's
// capabilities and seccomp profile, and new privileges allowed (BuildKit's
// oci.WithNewPrivileges) so setuid binaries such as su work in RUN.
//
// A mode that cannot make device nodes leaves CAP_MKNOD out, so mknod fails
// in the step (EPERM) rather than making a node the layer cannot hold.
func buildSpec(s Spec, u procUser, files etcFiles, mode snapshot.Capabilities) (*specs.Spec, error) {
	caps := append([]string(nil), defaultCaps...)
	if !mode.Mknod {
		caps = slices.DeleteFunc(caps, func(c string) bool { return c == "CAP_MKNOD" })
	}
	spec := &specs.Spec{
		Version:  specs.Version,
		Root:     &specs.Root{Path: s.Rootfs},
		Hostname: s.Hostname,
		Process: &specs.Process{
			Args: s.Args,
			Env:  withDefaultPath(s.Env),
			Cwd:  s.Cwd,
			User: specs.User{UID: u.uid, GID: u.gid, AdditionalGids: withPrimaryGid(u.gid, u.sgids)},
			// Inheritable and ambient stay empty (CVE-2022-24769).
			Capabilities: &specs.LinuxCapabilities{Bounding: caps, Effective: caps, Permitted: caps},
			// No rlimits: like BuildKit without --ulimit, the process
			// inherits the builder's limits.
		},
		Mounts: defaultMounts(files),
		Linux: &specs.Linux{
			Namespaces:    namespaces(s.Network),
			MaskedPaths:   maskedPaths,
			ReadonlyPaths: readonlyPaths,
			Resources: &specs.LinuxResources{
				// Deny all devices; runc adds its default allow list.
				Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}},
			},
		},
	}
	if s.ShmSize > 0 {
		setShmSize(spec.Mounts, s.ShmSize)
	}
	spec.Process.Rlimits = s.Ulimits
	spec.Mounts = append(spec.Mounts, extraMounts(s.Mounts)...)
	if s.Insecure {
		return spec, applyInsecure(spec, mode.Rootless)
	}
	sc, err := seccomp.GetDefaultProfile(spec)
	if err != nil {
		return nil, fmt.Errorf("generating seccomp profile: %w", err)
	}
	spec.Linux.Seccomp = sc
	return spec, nil
}

func namespaces(network string) []specs.LinuxNamespace {
	ns := []specs.LinuxNamespace{
		{Type: specs.PIDNamespace},
		{Type: specs.IPCNamespace},
		{Type: specs.UTSNamespace},
		{Type: specs.MountNamespace},
	}
	if network == NetworkNone {
		// runc brings lo up in a network namespace it creates.
		ns = append(ns, specs.LinuxNamespace{Type: specs.NetworkNamespace})
	}
	return ns
}

// defaultMounts are containerd's default mounts as BuildKit keeps them (no
// /run tmpfs, moby/buildkit#429), with a read-only cgroup mount and the
// generated hosts and resolv.conf bound read-only.
func defaultMounts(f etcFiles) []specs.Mount {
	roBind := []string{"nosuid", "noexec", "nodev", "rbind", "ro"}
	return []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
		{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"ro", "nosuid", "noexec", "nodev"}},
		{Destination: "/etc/resolv.conf", Type: "bind", Source: f.resolvConf, Options: roBind},
		{Destination: "/etc/hosts", Type: "bind", Source: f.hosts, Options: roBind},
	}
}

func extraMounts(ms []Mount) []specs.Mount {
	out := make([]specs.Mount, 0, len(ms))
	for _, m := range ms {
		out = append(out, specs.Mount{Destination: filepath.Join("/", m.Destination), Type: m.Type, Source: m.Source, Options: m.Options})
	}
	return out
}

func withDefaultPath(env []string) []string {
	for _, e := range env {
		if strings.HasPrefix(e, "PATH=") {
			return env
		}
	}
	return append(append([]string(nil), env...), "PATH="+system.DefaultPathEnvUnix)
}

// stubDestinations are the mount points whose stubs are removed after the
// step, as BuildKit's MountStubsCleaner removes them: /etc/resolv.conf,
// /etc/hosts and the step's own mounts (RUN --mount, a heredoc's /dev/pipes,
// the /dev/shm that --shm-size adds), with the directories made for them,
// /dev included. The runtime's default /proc, /dev and /sys mounts are no
// step mounts: the directories runc makes for them stay in the layer.
func stubDestinations(s Spec) []string {
	out := []string{"/etc/resolv.conf", "/etc/hosts"}
	if s.ShmSize > 0 {
		out = append(out, "/dev/shm")
	}
	for _, m := range s.Mounts {
		out = append(out, filepath.Join("/", m.Destination))
	}
	return out
}

func writeJSON(path string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding %s: %w", path, err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// setShmSize applies --shm-size to the /dev/shm mount.
func setShmSize(mounts []specs.Mount, size int64) {
	for i := range mounts {
		if mounts[i].Destination != "/dev/shm" {
			continue
		}
		for j, o := range mounts[i].Options {
			if strings.HasPrefix(o, "size=") {
				mounts[i].Options[j] = fmt.Sprintf("size=%dk", (size+1023)/1024)
			}
		}
	}
}
