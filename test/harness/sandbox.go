package harness

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Security is what a CI system or Kubernetes gives a container: the
// settings the recipes of docs/recipes.md declare, and nothing else.
type Security struct {
	// UserNS: the container has a user namespace of its own (Kubernetes
	// hostUsers: false, podman --userns=auto, dockerd userns-remap),
	// mapping its ids 0-65535 to host ids from SandboxIDBase.
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

// SandboxIDBase is the first host id of a sandbox's user namespace.
const SandboxIDBase = 3000000

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

// Sandbox is a root filesystem (kiln's image) run under runc with one
// Security, as a container runtime would run it.
type Sandbox struct {
	Sec     Security
	Dir     string        // every host directory the container sees lives here
	Timeout time.Duration // of one Run (0: the package's Timeout)
	rootfs  string
	mounts  []specs.Mount
	runc    string // runc's --root, private to the sandbox
	n       int
}

// NewSandbox copies rootfs (an exported image) into a bundle of t. In a
// user namespace its owners are shifted by SandboxIDBase, as a runtime
// does for hostUsers: false.
func NewSandbox(t testing.TB, rootfs string, sec Security) *Sandbox {
	t.Helper()
	Require(t, "runc", "cp")
	s := &Sandbox{Sec: sec, Dir: reachableTempDir(t)}
	s.rootfs = filepath.Join(s.Dir, "rootfs")
	if out, err := exec.Command("cp", "-a", rootfs, s.rootfs).CombinedOutput(); err != nil {
		t.Fatalf("copying the image's rootfs: %v\n%s", err, out)
	}
	s.shift(t, s.rootfs)
	s.runc = filepath.Join(s.Dir, "runc")
	MkdirAll(t, s.runc)
	return s
}

// Volume makes Dir/name, writable by the container's root, and mounts it
// at dest (an emptyDir).
func (s *Sandbox) Volume(t testing.TB, name, dest string) string {
	t.Helper()
	p := filepath.Join(s.Dir, name)
	MkdirAll(t, p)
	s.shift(t, p)
	s.mounts = append(s.mounts, specs.Mount{Destination: dest, Type: "bind", Source: p, Options: []string{"rbind", "rw"}})
	return p
}

// CopyIn copies src to Dir/name, owned by the container's root, and mounts
// it read-only at dest.
func (s *Sandbox) CopyIn(t testing.TB, src, name, dest string) {
	t.Helper()
	p := filepath.Join(s.Dir, name)
	if out, err := exec.Command("cp", "-a", src, p).CombinedOutput(); err != nil {
		t.Fatalf("copying %s into the sandbox: %v\n%s", src, err, out)
	}
	s.shift(t, p)
	s.mounts = append(s.mounts, specs.Mount{Destination: dest, Type: "bind", Source: p, Options: []string{"rbind", "ro"}})
}

// shift moves the owners of p's tree into the user namespace's range.
func (s *Sandbox) shift(t testing.TB, p string) {
	t.Helper()
	if !s.Sec.UserNS {
		return
	}
	err := filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		uid, gid := owner(fi)
		if uid >= SandboxIDBase {
			return nil
		}
		mode := fi.Mode()
		if err := os.Lchown(path, SandboxIDBase+uid, SandboxIDBase+gid); err != nil {
			return err
		}
		if mode&(fs.ModeSetuid|fs.ModeSetgid) != 0 && mode&fs.ModeSymlink == 0 {
			return os.Chmod(path, mode) // chown cleared them
		}
		return nil
	})
	if err != nil {
		t.Fatalf("shifting owners of %s: %v", p, err)
	}
}

// Run runs script with /bin/sh in a new container and returns its output.
func (s *Sandbox) Run(t testing.TB, script string) Result {
	t.Helper()
	s.n++
	bundle := filepath.Join(s.Dir, fmt.Sprintf("bundle%d", s.n))
	MkdirAll(t, bundle)
	spec, err := s.spec(script)
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	WriteFile(t, filepath.Join(bundle, "config.json"), string(data), 0o644)
	id := fmt.Sprintf("kiln-sandbox-%d-%d", os.Getpid(), s.n)
	cmd := exec.Command("runc", "--root", s.runc, "run", "--bundle", bundle, id)
	t.Cleanup(func() { _ = exec.Command("runc", "--root", s.runc, "delete", "--force", id).Run() })
	return runKilnFor(t, cmd, "runc "+s.Sec.String(), s.Timeout)
}

func (s *Sandbox) spec(script string) (*specs.Spec, error) {
	caps := append(append([]string(nil), DockerDefaultCaps...), s.Sec.AddCaps...)
	spec := &specs.Spec{
		Version: specs.Version,
		Root:    &specs.Root{Path: s.rootfs},
		Process: &specs.Process{
			User: specs.User{UID: s.Sec.UID, GID: s.Sec.UID},
			Args: []string{"/bin/sh", "-ec", script},
			Env: []string{"PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root",
				"NO_PROXY=*", "no_proxy=*"},
			Cwd:             "/",
			NoNewPrivileges: s.Sec.NoNewPrivs,
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
			// The host's network namespace: the tests' servers are on loopback.
			Namespaces: []specs.LinuxNamespace{{Type: specs.PIDNamespace}, {Type: specs.IPCNamespace},
				{Type: specs.UTSNamespace}, {Type: specs.MountNamespace}},
			MaskedPaths:   dockerMaskedPaths,
			ReadonlyPaths: dockerReadonlyPaths,
		},
	}
	if s.Sec.UID != 0 {
		spec.Process.Env[1] = "HOME=/home/build"
	}
	if s.Sec.UserNS {
		spec.Linux.Namespaces = append(spec.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		spec.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: SandboxIDBase, Size: 65536}}
		spec.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: SandboxIDBase, Size: 65536}}
		// sysfs needs a network namespace of the user namespace's own.
		spec.Mounts = append(spec.Mounts, specs.Mount{Destination: "/sys", Type: "none", Source: "/sys", Options: []string{"rbind", "nosuid", "noexec", "nodev", "ro"}})
	} else {
		spec.Mounts = append(spec.Mounts, specs.Mount{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}})
	}
	spec.Mounts = append(spec.Mounts, s.mounts...)
	switch s.Sec.Seccomp {
	case "RuntimeDefault", "":
		sc, err := seccomp.GetDefaultProfile(spec)
		if err != nil {
			return nil, fmt.Errorf("the default seccomp profile: %w", err)
		}
		spec.Linux.Seccomp = sc
	case "Unconfined":
	default:
		return nil, fmt.Errorf("sandbox: unknown seccomp %q", s.Sec.Seccomp)
	}
	return spec, nil
}

func owner(fi fs.FileInfo) (uid, gid int) {
	st := fi.Sys().(*syscall.Stat_t)
	return int(st.Uid), int(st.Gid)
}
