package isolation

import (
	"bufio"
	"strconv"
	"strings"
)

// Facts are what the probe learned about this process and machine.
type Facts struct {
	EUID int
	// UserNS: the process is in a user namespace other than the host's
	// (its uid_map is not the identity map of all ids).
	UserNS bool
	// CapSysAdmin: CAP_SYS_ADMIN is effective (in the process's own
	// user namespace), which overlay and proc mounts need.
	CapSysAdmin bool
	// CapEff is the effective capability mask.
	CapEff uint64
	// NoNewPrivs: setuid binaries (newuidmap) cannot gain privileges.
	NoNewPrivs bool
	// Seccomp is /proc/self/status's Seccomp: 0 none, 1 strict, 2 filter.
	Seccomp int
	// AppArmorRestrictsUserNS: kernel.apparmor_restrict_unprivileged_userns
	// is 1 (Ubuntu 23.10 and later).
	AppArmorRestrictsUserNS bool
	// UserNSDisabled: user.max_user_namespaces is 0 or Debian's
	// kernel.unprivileged_userns_clone is 0.
	UserNSDisabled bool
	// NewUIDMap and NewGIDMap are the paths of the setuid helpers ("" when
	// missing).
	NewUIDMap, NewGIDMap string
	// User is the login name of EUID ("" if unknown); SubUIDs and SubGIDs
	// its ranges in /etc/subuid and /etc/subgid.
	User             string
	SubUIDs, SubGIDs []IDRange
	// ProcMasked: something is mounted over part of /proc (a container's
	// masked paths), so the kernel refuses a fresh proc mount in a new
	// pid namespace.
	ProcMasked bool
	// Store is the store directory and StoreFS its filesystem type.
	Store   string
	StoreFS FSType
}

// IDRange is one subordinate id range: Count ids from Start.
type IDRange struct {
	Start, Count uint32
}

// capSysAdmin is CAP_SYS_ADMIN's bit in the capability masks.
const capSysAdmin = 21

// parseStatus reads CapEff, NoNewPrivs and Seccomp from /proc/self/status.
func parseStatus(data string, f *Facts) {
	sc := bufio.NewScanner(strings.NewReader(data))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch k {
		case "CapEff":
			if mask, err := strconv.ParseUint(v, 16, 64); err == nil {
				f.CapSysAdmin = mask&(1<<capSysAdmin) != 0
				f.CapEff = mask
			}
		case "NoNewPrivs":
			f.NoNewPrivs = v == "1"
		case "Seccomp":
			f.Seccomp, _ = strconv.Atoi(v)
		}
	}
}

// isIdentityMap reports whether a uid_map maps every id to itself, as the
// host's user namespace does ("0 0 4294967295").
func isIdentityMap(data string) bool {
	lines := strings.Fields(strings.TrimSpace(data))
	return len(lines) == 3 && lines[0] == "0" && lines[1] == "0" && lines[2] == "4294967295"
}

// parseSubIDs returns the ranges /etc/subuid (or /etc/subgid) grants to
// the user, named by login name or by numeric id.
func parseSubIDs(data, user string, id int) []IDRange {
	var out []IDRange
	ids := strconv.Itoa(id)
	sc := bufio.NewScanner(strings.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		parts := strings.Split(line, ":")
		if len(parts) != 3 || (parts[0] != ids && (user == "" || parts[0] != user)) {
			continue
		}
		start, err1 := strconv.ParseUint(parts[1], 10, 32)
		count, err2 := strconv.ParseUint(parts[2], 10, 32)
		if err1 != nil || err2 != nil || count == 0 {
			continue
		}
		out = append(out, IDRange{Start: uint32(start), Count: uint32(count)})
	}
	return out
}

// Total is the number of ids in the ranges.
func Total(rs []IDRange) uint64 {
	var n uint64
	for _, r := range rs {
		n += uint64(r.Count)
	}
	return n
}

// procMasked reports a mount below /proc other than binfmt_misc in a
// mountinfo: a container's masks (/proc/kcore bound to /dev/null, a
// read-only /proc/sys) make /proc not fully visible.
func procMasked(mountinfo string) bool {
	sc := bufio.NewScanner(strings.NewReader(mountinfo))
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if !ok || len(f) < 5 || len(g) < 1 {
			continue
		}
		if strings.HasPrefix(f[4], "/proc/") && g[0] != "binfmt_misc" {
			return true
		}
	}
	return false
}
