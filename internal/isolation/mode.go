// Package isolation chooses how kiln isolates RUN steps on this machine: as
// root on a host, in a user namespace, or inside an unprivileged container.
// The probe reads facts from /proc and the store's filesystem; Decide turns
// them into a mode and the reasons for it, so the logic is tested on fake
// facts.
package isolation

import (
	"fmt"
	"strings"
)

// Mode is an isolation mode (--isolation, kiln.toml's isolation key).
type Mode string

// The modes, strongest first.
const (
	// Auto picks the strongest mode this process can use.
	Auto Mode = "auto"
	// Root: real root on a host; overlayfs with trusted. xattrs, runc.
	Root Mode = "root"
	// Rootless: root in a user namespace (entered through newuidmap as a
	// plain user, or the container's own); overlayfs with userxattr,
	// runc without cgroups.
	Rootless Mode = "rootless"
	// RootlessNoProc is Rootless where /proc cannot be mounted: RUN binds
	// the container's /proc, without PID isolation.
	RootlessNoProc Mode = "rootless-noproc"
	// Container: no mounts and no namespaces (Docker's defaults); RUN runs
	// in kiln's own root filesystem over a copy of the stage's tree.
	Container Mode = "container"
)

// Modes lists the accepted values in the order of the flag's help.
var Modes = []Mode{Auto, Root, Rootless, RootlessNoProc, Container}

// ParseMode reads a mode name; "" means Auto.
func ParseMode(s string) (Mode, error) {
	if s == "" {
		return Auto, nil
	}
	for _, m := range Modes {
		if string(m) == s {
			return m, nil
		}
	}
	names := make([]string, len(Modes))
	for i, m := range Modes {
		names[i] = string(m)
	}
	return "", fmt.Errorf("unknown isolation %q: want %s", s, strings.Join(names, ", "))
}
