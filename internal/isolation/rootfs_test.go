package isolation

import (
	"strings"
	"testing"

	"github.com/moby/sys/mountinfo"
)

// Only a root that a runtime made (an overlay, a bound directory) is a
// container's: a host's whole filesystem never is, whatever marker files
// it holds.
func TestRootSign(t *testing.T) {
	for _, c := range []struct {
		m    mountinfo.Info
		want bool
		sign string
	}{
		{mountinfo.Info{FSType: "overlay", Root: "/", Source: "overlay"}, true, "overlay"},
		{mountinfo.Info{FSType: "fuse.fuse-overlayfs", Root: "/", Source: "fuse-overlayfs"}, true, "overlay"},
		{mountinfo.Info{FSType: "ext4", Root: "/var/lib/runc/rootfs", Source: "/dev/vda"}, true, "/var/lib/runc/rootfs of /dev/vda"},
		{mountinfo.Info{FSType: "ext4", Root: "/", Source: "/dev/vda"}, false, "a host's"},
		{mountinfo.Info{FSType: "xfs", Root: "/", Source: "/dev/nvme0n1p2"}, false, "a host's"},
	} {
		got, sign := rootSign(&c.m)
		if got != c.want || !strings.Contains(sign, c.sign) {
			t.Errorf("%+v: %v %q, want %v and %q", c.m, got, sign, c.want, c.sign)
		}
	}
}
