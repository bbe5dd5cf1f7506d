package isolation

import (
	"fmt"

	"github.com/moby/sys/mountinfo"
)

// rootIsContainers says whether kiln's root filesystem is a container's,
// with the sign it found, from the root mount alone: a runtime gives a
// container an overlay (Docker, containerd, CRI-O, podman) or a directory
// of another filesystem bound as / (runc with a plain rootfs), while a
// host's / is its device's whole filesystem. Marker files (/.dockerenv)
// are not trusted: a VM image made from a container image keeps them.
func rootIsContainers() (bool, string) {
	mounts, err := mountinfo.GetMounts(mountinfo.SingleEntryFilter("/"))
	if err != nil || len(mounts) == 0 {
		return false, "the root mount is unknown"
	}
	return rootSign(mounts[len(mounts)-1])
}

func rootSign(m *mountinfo.Info) (bool, string) {
	switch {
	case m.FSType == "overlay" || m.FSType == "fuse.fuse-overlayfs":
		return true, "/ is an overlay"
	case m.Root != "/":
		return true, fmt.Sprintf("/ is %s of %s", m.Root, m.Source)
	}
	return false, fmt.Sprintf("/ is the whole %s filesystem %s, a host's", m.FSType, m.Source)
}
