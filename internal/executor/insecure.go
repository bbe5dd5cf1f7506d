package executor

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// capNames are Linux's capabilities by number (linux/capability.h).
var capNames = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
	"CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
	"CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
	"CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
	"CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
	"CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN",
	"CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
}

// applyInsecure turns spec into BuildKit's RUN --security=insecure
// (util/entitlements/security.WithInsecureSpec, with writable sysfs and
// cgroupfs and no seccomp): every capability kiln itself holds, no masked
// or read-only paths, all devices allowed, and the devices BuildKit adds
// (kmsg, fuse, cuse, kvm, tun, loop-control and the loop devices), which
// BuildKit leaves out in a user namespace (rootless: no mknod there).
func applyInsecure(spec *specs.Spec, rootless bool) error {
	caps, err := currentCaps()
	if err != nil {
		return err
	}
	c := spec.Process.Capabilities
	for _, set := range []*[]string{&c.Bounding, &c.Effective, &c.Permitted, &c.Inheritable, &c.Ambient} {
		*set = append([]string(nil), caps...)
	}
	spec.Linux.MaskedPaths, spec.Linux.ReadonlyPaths = []string{}, []string{}
	spec.Linux.Resources.Devices = []specs.LinuxDeviceCgroup{
		{Allow: true, Type: "c", Access: "rwm"},
		{Allow: true, Type: "b", Access: "rwm"},
	}
	for i := range spec.Mounts {
		if m := &spec.Mounts[i]; m.Destination == "/sys" || m.Destination == "/sys/fs/cgroup" {
			m.Options = withoutOption(m.Options, "ro")
		}
	}
	if rootless {
		return nil
	}
	spec.Linux.Devices = append(spec.Linux.Devices,
		specs.LinuxDevice{Path: "/dev/kmsg", Type: "c", Major: 1, Minor: 11},
		specs.LinuxDevice{Path: "/dev/cuse", Type: "c", Major: 10, Minor: 203},
		specs.LinuxDevice{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229},
		specs.LinuxDevice{Path: "/dev/kvm", Type: "c", Major: 10, Minor: 232},
		specs.LinuxDevice{Path: "/dev/net/tun", Type: "c", Major: 10, Minor: 200},
		specs.LinuxDevice{Path: "/dev/loop-control", Type: "c", Major: 10, Minor: 237},
	)
	for i := 0; i <= freeLoopID()+7; i++ {
		spec.Linux.Devices = append(spec.Linux.Devices, specs.LinuxDevice{Path: fmt.Sprintf("/dev/loop%d", i), Type: "b", Major: 7, Minor: int64(i)})
	}
	return nil
}

// currentCaps names the capabilities kiln's own process holds (its CapEff).
func currentCaps() ([]string, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		hex, ok := strings.CutPrefix(sc.Text(), "CapEff:")
		if !ok {
			continue
		}
		mask, err := strconv.ParseUint(strings.TrimSpace(hex), 16, 64)
		if err != nil {
			return nil, fmt.Errorf("reading CapEff: %w", err)
		}
		var caps []string
		for i, name := range capNames {
			if mask&(1<<uint(i)) != 0 {
				caps = append(caps, name)
			}
		}
		return caps, nil
	}
	return nil, fmt.Errorf("no CapEff in /proc/self/status")
}

// freeLoopID asks the loop driver for its first free device (0 when it
// cannot say), as BuildKit does to choose how many loop devices to add.
func freeLoopID() int {
	f, err := os.OpenFile("/dev/loop-control", os.O_RDWR, 0)
	if err != nil {
		return 0
	}
	defer f.Close()
	id, err := unix.IoctlRetInt(int(f.Fd()), unix.LOOP_CTL_GET_FREE)
	if err != nil {
		return 0
	}
	return id
}

func withoutOption(opts []string, drop string) []string {
	out := make([]string, 0, len(opts))
	for _, o := range opts {
		if o != drop {
			out = append(out, o)
		}
	}
	return out
}
