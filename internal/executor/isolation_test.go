package executor

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// interfaces lists the interface names in a /proc/net/dev dump.
func interfaces(dev string) []string {
	var names []string
	for _, line := range strings.Split(dev, "\n") {
		name, _, ok := strings.Cut(line, ":")
		if ok && !strings.Contains(name, "|") {
			names = append(names, strings.TrimSpace(name))
		}
	}
	return names
}

func TestNetworkNone(t *testing.T) {
	e := newEnv(t)
	out := e.mustRun(t, Spec{Network: NetworkNone}, "cat /proc/net/dev")
	if got := interfaces(out); len(got) != 1 || got[0] != "lo" {
		t.Fatalf("interfaces %v, want only lo\n%s", got, out)
	}
	// runc brings lo up in a namespace it creates.
	if out := e.mustRun(t, Spec{Network: NetworkNone}, "ip -o link show lo"); !strings.Contains(out, ",UP") {
		t.Errorf("lo is not up:\n%s", out)
	}
}

func TestNetworkDefaultIsHost(t *testing.T) {
	e := newEnv(t)
	host, err := os.ReadFile("/proc/net/dev")
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"", NetworkDefault, NetworkHost} {
		out := e.mustRun(t, Spec{Network: mode}, "cat /proc/net/dev")
		if got, want := strings.Join(interfaces(out), " "), strings.Join(interfaces(string(host)), " "); got != want {
			t.Errorf("network %q: interfaces %q, want host's %q", mode, got, want)
		}
	}
}

func TestSecurity(t *testing.T) {
	e := newEnv(t)
	out := e.mustRun(t, Spec{}, "grep -E '^(CapEff|CapInh|CapAmb|Seccomp|NoNewPrivs):' /proc/self/status")
	for _, want := range []string{
		"CapEff:\t00000000a80425fb",
		"CapInh:\t0000000000000000",
		"CapAmb:\t0000000000000000",
		"Seccomp:\t2",
		"NoNewPrivs:\t0",
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
}

func TestMountsAndMasks(t *testing.T) {
	e := newEnv(t)
	out := e.mustRun(t, Spec{}, `
grep -E ' /(sys|etc/hosts|etc/resolv.conf) ' /proc/self/mounts | cut -d' ' -f2,4 | cut -d, -f1
grep -E ' cgroup2? ' /proc/self/mounts | grep -q . && echo cgroup-mounted
grep -E ' cgroup2? ' /proc/self/mounts | grep -v ' ro,' && echo cgroup-writable
touch /etc/hosts 2>/dev/null && echo hosts-writable
test -s /proc/kcore && echo kcore-visible
echo x > /proc/sysrq-trigger 2>/dev/null && echo sysrq-writable
df -k /dev/shm | tail -1 | awk '{print "shm", $2}'
test -c /dev/null && echo devnull`)
	for _, want := range []string{"/sys ro", "cgroup-mounted", "/etc/hosts ro", "/etc/resolv.conf ro", "shm 65536", "devnull"} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, bad := range []string{"cgroup-writable", "hosts-writable", "kcore-visible", "sysrq-writable"} {
		if strings.Contains(out, bad) {
			t.Errorf("output has %q:\n%s", bad, out)
		}
	}
}

func TestPIDNamespace(t *testing.T) {
	e := newEnv(t)
	out := e.mustRun(t, Spec{}, `echo $$; ls /proc | grep -c '^[0-9]'`)
	f := strings.Fields(out)
	if len(f) != 2 || f[0] != "1" {
		t.Fatalf("shell pid/count %q, want pid 1", out)
	}
	if f[1] == "0" || len(f[1]) > 1 {
		t.Errorf("%s pids visible, want a few", f[1])
	}
}

func TestHostFilesInvisible(t *testing.T) {
	e := newEnv(t)
	marker := filepath.Join(t.TempDir(), "kiln-marker")
	if err := os.WriteFile(marker, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := e.run(t, Spec{}, "test -e "+marker)
	if err == nil {
		t.Fatalf("host file %s visible in container", marker)
	}
}

func TestCancelKillsContainer(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		errc <- e.r.Run(ctx, Spec{ID: "sleep", Rootfs: e.rootfs, Args: []string{"sleep", "60"}})
	}()
	waitRunning(t, e)
	start := time.Now()
	cancel()
	select {
	case err := <-errc:
		if err != context.Canceled {
			t.Errorf("error %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Run took %v to return after cancel", d)
	}
	if ids, err := e.r.state().List(context.Background()); err != nil || len(ids) != 0 {
		t.Errorf("containers left: %v %v", ids, err)
	}
	if entries, _ := os.ReadDir(e.r.bundles); len(entries) != 0 {
		t.Errorf("bundles left: %v", entries)
	}
}

// waitRunning waits until the runner has a container in state running.
func waitRunning(t *testing.T, e *env) {
	t.Helper()
	for i := 0; i < 100; i++ {
		out, _ := exec.Command(e.r.runc, "--root", e.r.root, "list").Output()
		if strings.Contains(string(out), "running") {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("container did not start")
}
