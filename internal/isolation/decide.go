package isolation

import (
	"fmt"
	"os"
	"strings"
)

// Decision is the mode a build runs in and why.
type Decision struct {
	Mode Mode
	// Enter: kiln first re-enters itself in a new user namespace through
	// newuidmap/newgidmap (a plain user on a host).
	Enter bool
	// Why explains the choice, one line each, for kiln info.
	Why []string
}

// Error says why a mode cannot run here.
type Error struct {
	Mode    Mode
	Reasons []string
	// Unsupported: kiln does not implement the mode yet.
	Unsupported bool
}

func (e *Error) Error() string {
	if e.Unsupported {
		return fmt.Sprintf("--isolation=%s is not supported yet", e.Mode)
	}
	return fmt.Sprintf("--isolation=%s cannot run here: %s", e.Mode, strings.Join(e.Reasons, "; "))
}

// Decide picks the mode for want on a machine described by f. Auto takes
// root when kiln is privileged, and falls back to a weaker mode only when
// it is not: as root on a host, a store where overlay cannot work is an
// error, never a silent downgrade.
func Decide(want Mode, f Facts) (Decision, error) {
	switch want {
	case Root:
		if p := append(rootProblems(f), fsProblems(f)...); len(p) > 0 {
			return Decision{}, &Error{Mode: Root, Reasons: p}
		}
		return Decision{Mode: Root, Why: []string{"--isolation=root", rootWhy(f)}}, nil
	case Rootless, RootlessNoProc:
		p := append(rootlessProblems(f), fsProblems(f)...)
		if want == Rootless && f.ProcMasked {
			p = append(p, "/proc is masked (a container's default), so RUN cannot get a fresh /proc: use --isolation=rootless-noproc")
		}
		if len(p) > 0 {
			return Decision{}, &Error{Mode: want, Reasons: p}
		}
		return Decision{Mode: want, Enter: needsEntry(f), Why: append([]string{"--isolation=" + string(want)}, rootlessWhy(f)...)}, nil
	case Container:
		if p := containerProblems(f); len(p) > 0 {
			return Decision{}, &Error{Mode: Container, Reasons: p}
		}
		return Decision{Mode: Container, Why: []string{"--isolation=container", containerWhy()}}, nil
	case Auto, "":
		return decideAuto(f)
	}
	return Decision{}, fmt.Errorf("unknown isolation %q", want)
}

func decideAuto(f Facts) (Decision, error) {
	rootP := rootProblems(f)
	if len(rootP) == 0 {
		if p := fsProblems(f); len(p) > 0 {
			return Decision{}, &Error{Mode: Root, Reasons: append(p, "as root on a host kiln does not fall back to a weaker mode")}
		}
		return Decision{Mode: Root, Why: []string{"auto: " + rootWhy(f)}}, nil
	}
	rlP := append(rootlessProblems(f), fsProblems(f)...)
	if len(rlP) == 0 {
		why := []string{"auto: not root: " + strings.Join(rootP, "; ")}
		mode := Rootless
		if f.ProcMasked {
			// The masks are locked into every namespace kiln makes.
			mode = RootlessNoProc
			why = append(why, "/proc is masked: RUN binds kiln's /proc, without PID isolation")
		}
		return Decision{Mode: mode, Enter: needsEntry(f), Why: append(why, rootlessWhy(f)...)}, nil
	}
	cP := containerProblems(f)
	if len(cP) == 0 {
		return Decision{Mode: Container, Why: []string{
			"auto: not root: " + strings.Join(rootP, "; "),
			"not rootless: " + strings.Join(rlP, "; "),
			containerWhy(),
		}}, nil
	}
	return Decision{}, &Error{Mode: Auto, Reasons: []string{
		"root: " + strings.Join(rootP, ", "),
		"rootless: " + strings.Join(rlP, ", "),
		"container: " + strings.Join(cP, ", "),
	}}
}

// ContainerRunEnv chooses how container mode runs RUN: over the
// container's own root (own-root, the default: kaniko's model) or
// chrooted into a copy of the stage's tree (chroot: no /proc, but the
// container's own files stay where they are).
const ContainerRunEnv = "KILN_CONTAINER_RUN"

// ContainerOwnRoot says whether container mode runs RUN over the
// container's own root: not when ContainerRunEnv asks for chroot, and only
// where the root filesystem is a container's (rootIsContainers): a host's
// root is never lent to a step.
func ContainerOwnRoot() bool {
	ok, _ := rootIsContainers()
	return ok && os.Getenv(ContainerRunEnv) != "chroot"
}

// containerWhy says what container mode does, for kiln info.
func containerWhy() string {
	const what = "root of an ordinary container (no mounts, no new namespaces): "
	ok, sign := rootIsContainers()
	switch {
	case !ok:
		return what + "layers are copied, RUN is chrooted into the copy without /proc and without isolation from kiln (" + sign + ": the root filesystem is not lent to RUN)"
	case os.Getenv(ContainerRunEnv) == "chroot":
		return what + "layers are copied, RUN is chrooted into the copy without /proc and without isolation from kiln (" + ContainerRunEnv + "=chroot)"
	}
	return what + "layers are copied over the container's own root (" + sign + "), one step at a time, its own files moved aside meanwhile; RUN runs there with the container's /proc and /dev, without isolation from kiln (" + ContainerRunEnv + "=chroot: a copy instead, without /proc)"
}

// containerCaps are the capabilities container mode uses (bits of CapEff):
// owners and modes of copied files, the device nodes and whiteouts,
// chroot, and USER's switch.
var containerCaps = []struct {
	bit  uint
	name string
}{{0, "CAP_CHOWN"}, {1, "CAP_DAC_OVERRIDE"}, {3, "CAP_FOWNER"}, {6, "CAP_SETGID"}, {7, "CAP_SETUID"}, {18, "CAP_SYS_CHROOT"}, {27, "CAP_MKNOD"}}

func containerProblems(f Facts) []string {
	if f.EUID != 0 {
		return []string{fmt.Sprintf("kiln runs as uid %d: container mode needs root in the container (Docker's default capabilities)", f.EUID)}
	}
	if f.CapSysAdmin {
		// Where kiln can mount, it isolates RUN properly; container mode
		// gives RUN kiln's own namespaces and capabilities.
		if f.UserNS {
			return []string{"kiln can mount here (CAP_SYS_ADMIN in its user namespace): use --isolation=rootless, which isolates RUN"}
		}
		return []string{"kiln can mount here (root with CAP_SYS_ADMIN: a host or a privileged container): use --isolation=root, which isolates RUN; container mode would run RUN with kiln's own privileges"}
	}
	if f.UserNS {
		return []string{"root in a user namespace cannot make /dev's device nodes, which container mode's RUN needs: give the container CAP_SYS_ADMIN for --isolation=rootless-noproc (docs/security.md): not supported yet"}
	}
	var missing []string
	for _, c := range containerCaps {
		if f.CapEff&(1<<c.bit) == 0 {
			missing = append(missing, c.name)
		}
	}
	if len(missing) > 0 {
		return []string{"container mode needs " + strings.Join(missing, ", ") + " (in Docker's default capabilities): add them to the container"}
	}
	return nil
}

// needsEntry: a plain user enters a user namespace; root in one is there.
func needsEntry(f Facts) bool { return f.EUID != 0 }

func rootWhy(f Facts) string {
	return fmt.Sprintf("running as root on the host with CAP_SYS_ADMIN; overlay upper dirs on %s", f.StoreFS)
}

func rootlessWhy(f Facts) []string {
	if !needsEntry(f) {
		return []string{"root in a user namespace with CAP_SYS_ADMIN: overlay with userxattr, runc without cgroups"}
	}
	return []string{fmt.Sprintf("uid %d enters a user namespace through %s with %d subordinate uids and %d gids",
		f.EUID, f.NewUIDMap, Total(f.SubUIDs), Total(f.SubGIDs))}
}

func rootProblems(f Facts) []string {
	var p []string
	if f.EUID != 0 {
		p = append(p, fmt.Sprintf("kiln runs as uid %d, not root", f.EUID))
	} else if f.UserNS {
		p = append(p, "kiln is root in a user namespace, not on the host")
	}
	if f.EUID == 0 && !f.CapSysAdmin {
		p = append(p, "CAP_SYS_ADMIN is not effective (a container's default capabilities)")
	}
	return p
}

func rootlessProblems(f Facts) []string {
	if f.EUID == 0 {
		switch {
		case f.UserNS && f.CapSysAdmin:
			return nil
		case f.UserNS:
			return []string{"root in a user namespace without CAP_SYS_ADMIN cannot mount: give the container CAP_SYS_ADMIN (it only counts inside its user namespace) or seccomp and AppArmor unconfined" + seccompHint(f)}
		case f.CapSysAdmin:
			return []string{"kiln is root on the host: use --isolation=root"}
		}
		return []string{"root outside a user namespace without CAP_SYS_ADMIN (an ordinary container) cannot make one" + seccompHint(f)}
	}
	var p []string
	if f.NewUIDMap == "" || f.NewGIDMap == "" {
		p = append(p, "newuidmap/newgidmap not found: install the uidmap package")
	}
	who := f.User
	if who == "" {
		who = fmt.Sprint(f.EUID)
	}
	if len(f.SubUIDs) == 0 || len(f.SubGIDs) == 0 {
		p = append(p, fmt.Sprintf("%s has no range in /etc/subuid or /etc/subgid: add one, e.g. usermod --add-subuids 100000-165535 --add-subgids 100000-165535 %s", who, who))
	}
	if f.NoNewPrivs {
		p = append(p, "no_new_privs is set (Kubernetes allowPrivilegeEscalation: false), so the setuid newuidmap cannot map ids: allow privilege escalation, or run as root in a user namespace (hostUsers: false)")
	}
	if f.AppArmorRestrictsUserNS {
		p = append(p, "kernel.apparmor_restrict_unprivileged_userns=1 refuses user namespaces to unconfined programs: load an AppArmor profile that grants kiln userns (docs/security.md), or set the sysctl to 0")
	}
	if f.UserNSDisabled {
		p = append(p, "user namespaces are disabled (user.max_user_namespaces=0 or kernel.unprivileged_userns_clone=0)")
	}
	return p
}

func seccompHint(f Facts) string {
	if f.Seccomp == 2 {
		return " (a seccomp filter is active: default profiles refuse mount and new user namespaces)"
	}
	return ""
}

func fsProblems(f Facts) []string {
	if p := f.StoreFS.upperdirProblem(); p != "" {
		return []string{fmt.Sprintf("the store %s is on %s: %s", f.Store, f.StoreFS, p)}
	}
	return nil
}
