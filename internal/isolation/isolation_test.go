package isolation

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
)

// fakeSystem serves files from a map.
func fakeSystem(euid int, files map[string]string, bins ...string) system {
	return system{
		readFile: func(p string) ([]byte, error) {
			if v, ok := files[p]; ok {
				return []byte(v), nil
			}
			return nil, fs.ErrNotExist
		},
		lookPath: func(name string) (string, error) {
			for _, b := range bins {
				if b == name {
					return "/usr/bin/" + name, nil
				}
			}
			return "", errors.New("not found")
		},
		euid:     euid,
		userName: func(uid int) string { return map[int]string{1000: "alice"}[uid] },
		storeFS:  func(string) (FSType, error) { return FSExt4, nil },
	}
}

const (
	hostMap = "         0          0 4294967295\n"
	nsMap   = "         0     100000      65536\n"
	allCaps = "CapEff:\t000001ffffffffff\nNoNewPrivs:\t0\nSeccomp:\t0\n"
)

func TestProbeReadsFacts(t *testing.T) {
	s := fakeSystem(1000, map[string]string{
		"/proc/self/status":  "Name:\tkiln\nCapEff:\t0000000000000000\nNoNewPrivs:\t1\nSeccomp:\t2\n",
		"/proc/self/uid_map": hostMap,
		"/etc/subuid":        "# ranges\nbob:200000:65536\nalice:100000:65536\n1000:300000:10\n",
		"/etc/subgid":        "alice:100000:65536\n",
		"/proc/sys/kernel/apparmor_restrict_unprivileged_userns": "1\n",
		"/proc/sys/user/max_user_namespaces":                     "15000\n",
	}, "newuidmap", "newgidmap")
	f, err := s.probe("/home/alice/.local/share/kiln")
	if err != nil {
		t.Fatal(err)
	}
	if f.UserNS || f.CapSysAdmin || !f.NoNewPrivs || f.Seccomp != 2 || !f.AppArmorRestrictsUserNS || f.UserNSDisabled {
		t.Errorf("facts = %+v", f)
	}
	if f.User != "alice" || f.NewUIDMap != "/usr/bin/newuidmap" || f.NewGIDMap != "/usr/bin/newgidmap" {
		t.Errorf("user %q, helpers %q %q", f.User, f.NewUIDMap, f.NewGIDMap)
	}
	want := []IDRange{{100000, 65536}, {300000, 10}}
	if len(f.SubUIDs) != 2 || f.SubUIDs[0] != want[0] || f.SubUIDs[1] != want[1] {
		t.Errorf("subuids = %v, want %v", f.SubUIDs, want)
	}
	if Total(f.SubGIDs) != 65536 || f.StoreFS != FSExt4 {
		t.Errorf("subgids %v, fs %v", f.SubGIDs, f.StoreFS)
	}
}

func TestProbeUserNamespaceAndDisabledSysctl(t *testing.T) {
	s := fakeSystem(0, map[string]string{
		"/proc/self/status":                          allCaps,
		"/proc/self/uid_map":                         nsMap,
		"/proc/sys/kernel/unprivileged_userns_clone": "0",
	})
	f, err := s.probe("/var/lib/kiln")
	if err != nil {
		t.Fatal(err)
	}
	if !f.UserNS || !f.CapSysAdmin || !f.UserNSDisabled || f.NewUIDMap != "" {
		t.Errorf("facts = %+v", f)
	}
}

// plainUser is a user on a host with everything rootless needs.
func plainUser() Facts {
	return Facts{EUID: 1000, User: "alice", NewUIDMap: "/usr/bin/newuidmap", NewGIDMap: "/usr/bin/newgidmap",
		SubUIDs: []IDRange{{100000, 65536}}, SubGIDs: []IDRange{{100000, 65536}}, Store: "/home/alice/.local/share/kiln", StoreFS: FSExt4}
}

// dockerRoot is root in a container with Docker's default capabilities
// (CapEff 00000000a80425fb) and seccomp profile, its store on the
// container's overlayfs.
func dockerRoot() Facts {
	return Facts{EUID: 0, CapEff: 0xa80425fb, Seccomp: 2, Store: "/var/lib/kiln", StoreFS: FSOverlay}
}

func hostRoot() Facts {
	return Facts{EUID: 0, CapSysAdmin: true, Store: "/var/lib/kiln", StoreFS: FSExt4}
}

func TestDecide(t *testing.T) {
	with := func(f Facts, change func(*Facts)) Facts { change(&f); return f }
	tests := []struct {
		name  string
		want  Mode
		facts Facts
		mode  Mode
		enter bool
		err   string // substring of the error
	}{
		{"auto as root on a host", Auto, hostRoot(), Root, false, ""},
		{"auto as a plain user", Auto, plainUser(), Rootless, true, ""},
		{"auto as root in a user namespace", Auto, with(hostRoot(), func(f *Facts) { f.UserNS = true }), Rootless, false, ""},
		{"auto as root on a host, store on overlayfs", Auto, with(hostRoot(), func(f *Facts) { f.StoreFS = FSOverlay }), "", false, "does not fall back"},
		{"auto as root on a host, store on NFS", Auto, with(hostRoot(), func(f *Facts) { f.StoreFS = FSNFS }), "", false, "on nfs"},
		{"auto in an ordinary container", Auto, dockerRoot(), Container, false, ""},
		{"auto in a container without CAP_MKNOD", Auto, with(dockerRoot(), func(f *Facts) { f.CapEff &^= 1 << 27 }), "", false, "container: container mode needs CAP_MKNOD"},
		{"auto as a user without ranges", Auto, with(plainUser(), func(f *Facts) { f.SubUIDs = nil }), "", false, "alice has no range in /etc/subuid"},
		{"root as a plain user", Root, plainUser(), "", false, "runs as uid 1000, not root"},
		{"root in a user namespace", Root, with(hostRoot(), func(f *Facts) { f.UserNS = true }), "", false, "in a user namespace"},
		{"root without CAP_SYS_ADMIN", Root, Facts{EUID: 0, StoreFS: FSExt4}, "", false, "CAP_SYS_ADMIN is not effective"},
		{"rootless under no_new_privs", Rootless, with(plainUser(), func(f *Facts) { f.NoNewPrivs = true }), "", false, "allowPrivilegeEscalation"},
		{"rootless under Ubuntu's AppArmor sysctl", Rootless, with(plainUser(), func(f *Facts) { f.AppArmorRestrictsUserNS = true }), "", false, "apparmor_restrict_unprivileged_userns"},
		{"rootless without uidmap", Rootless, with(plainUser(), func(f *Facts) { f.NewUIDMap = "" }), "", false, "install the uidmap package"},
		{"rootless with user namespaces off", Rootless, with(plainUser(), func(f *Facts) { f.UserNSDisabled = true }), "", false, "disabled"},
		{"rootless with the store on overlayfs", Rootless, with(plainUser(), func(f *Facts) { f.StoreFS = FSOverlay }), "", false, "emptyDir"},
		{"rootless in a userns without CAP_SYS_ADMIN", Rootless, Facts{EUID: 0, UserNS: true, Seccomp: 2, StoreFS: FSExt4}, "", false, "seccomp filter is active"},
		{"rootless as root on a host", Rootless, hostRoot(), "", false, "use --isolation=root"},
		{"rootless-noproc as a plain user", RootlessNoProc, plainUser(), RootlessNoProc, true, ""},
		{"auto as root in a user namespace with a masked /proc", Auto, with(hostRoot(), func(f *Facts) { f.UserNS, f.ProcMasked = true, true }), RootlessNoProc, false, ""},
		{"rootless with a masked /proc", Rootless, with(hostRoot(), func(f *Facts) { f.UserNS, f.ProcMasked = true, true }), "", false, "use --isolation=rootless-noproc"},
		{"rootless-noproc without ranges", RootlessNoProc, with(plainUser(), func(f *Facts) { f.SubGIDs = nil }), "", false, "/etc/subgid"},
		{"container in an ordinary container", Container, dockerRoot(), Container, false, ""},
		{"container on a host", Container, hostRoot(), "", false, "kiln can mount here"},
		{"container in a privileged container", Container, with(dockerRoot(), func(f *Facts) { f.CapSysAdmin = true }), "", false, "use --isolation=root"},
		{"container as a plain user", Container, plainUser(), "", false, "needs root in the container"},
		{"container in a user namespace", Container, with(dockerRoot(), func(f *Facts) { f.UserNS = true }), "", false, "device nodes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Decide(tt.want, tt.facts)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want it to contain %q (decision %+v)", err, tt.err, d)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d.Mode != tt.mode || d.Enter != tt.enter || len(d.Why) == 0 {
				t.Errorf("decision = %+v, want mode %s enter %v", d, tt.mode, tt.enter)
			}
		})
	}
}

func TestParseMode(t *testing.T) {
	for _, m := range Modes {
		if got, err := ParseMode(string(m)); err != nil || got != m {
			t.Errorf("ParseMode(%q) = %q, %v", m, got, err)
		}
	}
	if m, err := ParseMode(""); err != nil || m != Auto {
		t.Errorf(`ParseMode("") = %q, %v`, m, err)
	}
	if _, err := ParseMode("chroot"); err == nil || !strings.Contains(err.Error(), "rootless-noproc") {
		t.Errorf("ParseMode(chroot) error = %v", err)
	}
}

func TestMapArgsMapsEveryRangeBackToBack(t *testing.T) {
	got := strings.Join(MapArgs(1000, []IDRange{{100000, 65536}, {300000, 10}}), " ")
	if want := "0 1000 1 1 100000 65536 65537 300000 10"; got != want {
		t.Errorf("MapArgs = %q, want %q", got, want)
	}
}

func TestIDMapKey(t *testing.T) {
	if k := idMapKey(hostMap, hostMap); k != "host" {
		t.Errorf("host maps: %q", k)
	}
	k := idMapKey("0 1000 1\n1 100000 65536\n", "0 1000 1\n1 100000 65536\n")
	if want := "uid 0,1000,1,1,100000,65536 gid 0,1000,1,1,100000,65536"; k != want {
		t.Errorf("key = %q, want %q", k, want)
	}
}

func TestProcMasked(t *testing.T) {
	host := "22 1 0:21 / /proc rw,nosuid shared:5 - proc proc rw\n" +
		"40 22 0:35 / /proc/sys/fs/binfmt_misc rw,relatime shared:20 - binfmt_misc binfmt_misc rw\n"
	if procMasked(host) {
		t.Error("a host's /proc with binfmt_misc counts as masked")
	}
	docker := host + "512 22 0:5 /null /proc/kcore rw,nosuid - devtmpfs udev rw,size=4k\n"
	if !procMasked(docker) {
		t.Error("/proc/kcore bound over is not seen as masked")
	}
}
