package executor

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/kiln-build/kiln/internal/snapshot"
)

func testSpec(t *testing.T, caps snapshot.Capabilities) *specs.Spec {
	t.Helper()
	dir := t.TempDir()
	files := etcFiles{hosts: filepath.Join(dir, "hosts"), resolvConf: filepath.Join(dir, "resolv.conf")}
	for _, f := range []string{files.hosts, files.resolvConf} {
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	spec, err := buildSpec(Spec{Rootfs: "/r", Args: []string{"true"}}, procUser{}, files, caps)
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

// In a user namespace runc gets BuildKit's rootless spec: no /sys, no
// cgroup resources, binds keep their source's locked flags.
func TestRootlessSpec(t *testing.T) {
	spec := testSpec(t, snapshot.RootlessCaps)
	dropped, err := toRootless(spec)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(dropped, []string{"/sys"}) {
		t.Errorf("dropped = %v, want [/sys]", dropped)
	}
	if spec.Linux.Resources != nil {
		t.Errorf("resources = %+v, want none", spec.Linux.Resources)
	}
	for _, m := range spec.Mounts {
		if strings.HasPrefix(m.Destination, "/sys") {
			t.Errorf("mount %s kept", m.Destination)
		}
		if isBind(m) {
			locked, err := lockedFlags(m.Source)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range locked {
				if !slices.Contains(m.Options, f) {
					t.Errorf("bind of %s: options %v lack the locked %s", m.Source, m.Options, f)
				}
			}
		}
	}
}

// RUN --network=none has a network namespace the user namespace owns:
// a fresh sysfs mounts there (BuildKit lists lo), the cgroup mount still goes.
func TestRootlessSpecOwnNetwork(t *testing.T) {
	dir := t.TempDir()
	files := etcFiles{hosts: filepath.Join(dir, "hosts"), resolvConf: filepath.Join(dir, "resolv.conf")}
	for _, f := range []string{files.hosts, files.resolvConf} {
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	spec, err := buildSpec(Spec{Rootfs: "/r", Args: []string{"true"}, Network: "none"}, procUser{}, files, snapshot.RootlessCaps)
	if err != nil {
		t.Fatal(err)
	}
	dropped, err := toRootless(spec)
	if err != nil {
		t.Fatal(err)
	}
	if len(dropped) != 0 {
		t.Errorf("dropped = %v, want nothing", dropped)
	}
	var sys []string
	for _, m := range spec.Mounts {
		if strings.HasPrefix(m.Destination, "/sys") {
			sys = append(sys, m.Destination+" "+m.Type)
		}
	}
	if !slices.Equal(sys, []string{"/sys sysfs"}) {
		t.Errorf("/sys mounts = %v, want [/sys sysfs]", sys)
	}
}

// Without a fresh /proc, RUN binds kiln's and shares its pid namespace.
func TestBindProc(t *testing.T) {
	spec := testSpec(t, snapshot.RootlessNoProcCaps)
	bindProc(spec)
	for _, n := range spec.Linux.Namespaces {
		if n.Type == specs.PIDNamespace {
			t.Error("pid namespace kept")
		}
	}
	var proc *specs.Mount
	for i := range spec.Mounts {
		if spec.Mounts[i].Destination == "/proc" {
			proc = &spec.Mounts[i]
		}
	}
	if proc == nil || proc.Type != "bind" || proc.Source != "/proc" || !slices.Contains(proc.Options, "rbind") {
		t.Errorf("/proc mount = %+v, want an rbind of /proc", proc)
	}
	for _, p := range append(spec.Linux.MaskedPaths, spec.Linux.ReadonlyPaths...) {
		if strings.HasPrefix(p, "/proc") {
			t.Errorf("%s still masked or read-only", p)
		}
	}
	if !slices.Contains(spec.Linux.MaskedPaths, "/sys/firmware") {
		t.Errorf("masked paths %v lost /sys/firmware", spec.Linux.MaskedPaths)
	}
}
