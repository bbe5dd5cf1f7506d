package executor

import (
	"errors"

	"golang.org/x/sys/unix"
)

// What a container runtime's default seccomp profile refuses kiln, and
// how runc is told to do without it.

// keyringRefused reports whether kiln may not use the kernel keyring: the
// default seccomp profiles of Docker, containerd and CRI-O refuse keyctl
// (the keyring is not namespaced). runc then cannot give RUN a session
// keyring of its own and is told not to try (--no-new-keyring), so RUN
// shares kiln's, which in such a container is empty and the container's own.
func keyringRefused() bool {
	_, err := unix.KeyctlInt(unix.KEYCTL_GET_KEYRING_ID, unix.KEY_SPEC_SESSION_KEYRING, 0, 0, 0)
	return errors.Is(err, unix.EPERM) || errors.Is(err, unix.ENOSYS)
}

// hasNetAdmin reports whether CAP_NET_ADMIN is effective: runc brings up lo
// in the network namespace it makes for RUN --network=none, which needs it
// in the user namespace owning that network namespace (kiln's own).
func hasNetAdmin() bool {
	var hdr = unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return false
	}
	return data[unix.CAP_NET_ADMIN/32].Effective&(1<<(unix.CAP_NET_ADMIN%32)) != 0
}

// pivotRootRefused reports whether pivot_root is refused to kiln (Docker's
// default seccomp profile denies it even with CAP_SYS_ADMIN). runc then
// jails RUN with --no-pivot: it moves the rootfs mount over / and chroots,
// after detaching every other mount, as runc does for a ramdisk rootfs.
// The probe names paths that do not exist, so an allowed call fails with
// ENOENT and changes nothing.
func pivotRootRefused() bool {
	const none = "/nonexistent-kiln-pivot-probe"
	return errors.Is(unix.PivotRoot(none, none), unix.EPERM)
}
