package isolation

import (
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
)

// system is where the probe reads its facts; tests give it a fake one.
type system struct {
	readFile func(path string) ([]byte, error)
	lookPath func(name string) (string, error)
	euid     int
	userName func(uid int) string
	storeFS  func(dir string) (FSType, error)
}

var host = system{
	readFile: os.ReadFile,
	lookPath: exec.LookPath,
	euid:     os.Geteuid(),
	userName: func(uid int) string {
		if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
			return u.Username
		}
		return ""
	},
	storeFS: StoreFS,
}

// Probe reads the facts of this process, with store as the store directory.
func Probe(store string) (Facts, error) { return host.probe(store) }

func (s system) probe(store string) (Facts, error) {
	f := Facts{EUID: s.euid, Store: store}
	if data, err := s.readFile("/proc/self/status"); err == nil {
		parseStatus(string(data), &f)
	}
	if data, err := s.readFile("/proc/self/uid_map"); err == nil {
		f.UserNS = !isIdentityMap(string(data))
	}
	if data, err := s.readFile("/proc/self/mountinfo"); err == nil {
		f.ProcMasked = procMasked(string(data))
	}
	f.AppArmorRestrictsUserNS = s.sysctl("kernel/apparmor_restrict_unprivileged_userns") == "1"
	f.UserNSDisabled = s.sysctl("user/max_user_namespaces") == "0" || s.sysctl("kernel/unprivileged_userns_clone") == "0"
	f.NewUIDMap, _ = s.lookPath("newuidmap")
	f.NewGIDMap, _ = s.lookPath("newgidmap")
	f.User = s.userName(f.EUID)
	if data, err := s.readFile("/etc/subuid"); err == nil {
		f.SubUIDs = parseSubIDs(string(data), f.User, f.EUID)
	}
	if data, err := s.readFile("/etc/subgid"); err == nil {
		f.SubGIDs = parseSubIDs(string(data), f.User, f.EUID)
	}
	fs, err := s.storeFS(store)
	if err != nil {
		return f, err
	}
	f.StoreFS = fs
	return f, nil
}

// sysctl reads /proc/sys/<name> ("" when absent).
func (s system) sysctl(name string) string {
	data, err := s.readFile("/proc/sys/" + name)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(data))
}
