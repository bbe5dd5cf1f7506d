package snapshot

import "github.com/kiln-build/kiln/internal/isolation"

// Capabilities say what a mode can do; the executor refuses the rest. They
// are the one place overlay options and xattr names come from.
type Capabilities struct {
	// XattrPrefix is where overlayfs keeps its marks (opaque dirs):
	// "trusted." as root on a host, "user." in a user namespace.
	XattrPrefix string
	// OverlayOptions are appended to every overlay mount. Both keep the
	// upper dir a plain description of the change (no redirect or
	// metacopy xattrs); userxattr implies that and refuses an explicit
	// redirect_dir=off, as BuildKit finds in a user namespace.
	OverlayOptions string
	FreshProc      bool // RUN gets its own /proc (pid namespace)
	Mknod          bool // device nodes can be created (unpack, RUN)
	NetNS          bool // RUN --network=none can be honoured
	// Rootless: runc runs in a user namespace, without cgroups or sysfs.
	Rootless bool
}

// OpaqueXattr is the xattr that marks an opaque directory.
func (c Capabilities) OpaqueXattr() string { return c.XattrPrefix + "overlay.opaque" }

// CapabilitiesFor returns what mode m can do.
func CapabilitiesFor(m isolation.Mode) Capabilities {
	switch m {
	case isolation.Rootless, isolation.RootlessNoProc:
		return Capabilities{XattrPrefix: "user.", OverlayOptions: "userxattr,index=off",
			FreshProc: m == isolation.Rootless, NetNS: true, Rootless: true}
	}
	return RootCapabilities
}

// RootCapabilities are the root mode's, the default where nothing chose.
var RootCapabilities = Capabilities{XattrPrefix: "trusted.", OverlayOptions: "redirect_dir=off,metacopy=off,index=off",
	FreshProc: true, Mknod: true, NetNS: true}

// LayerMark is what an unpacked layer directory records of the mode that
// made it: the xattr namespace of its opaque marks and the id mapping of
// its owners. A directory with another mark is unpacked again.
func (c Capabilities) LayerMark() string {
	return c.XattrPrefix + " " + isolation.IDMapKey()
}
