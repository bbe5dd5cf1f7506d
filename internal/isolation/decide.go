package isolation

import (
	"fmt"
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
		return Decision{}, &Error{Mode: want, Unsupported: true}
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
	return Decision{}, &Error{Mode: Auto, Reasons: []string{
		"root: " + strings.Join(rootP, ", "),
		"rootless: " + strings.Join(rlP, ", "),
		"container: not supported yet",
	}}
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
