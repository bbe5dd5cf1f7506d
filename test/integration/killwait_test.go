package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// What the kill tests wait for is what kiln reports (kill-point markers,
// its progress) and the runc state of the test's own store: never the
// machine's process list, never a fixed delay.

// lockedBuffer is a bytes.Buffer a running command writes while the test
// reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// pollUntil calls cond every 20 ms until it holds, or fails t after limit
// (a bound on a hung build, not a timing assumption).
func pollUntil(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// killAtMark waits until the build cmd, started with KILN_TEST_KILLPOINT
// and KILN_TEST_KILLPOINT_FILE=marker, blocks at its kill point, then
// SIGKILLs it. It reports whether the kill landed (false when the build
// ended before reaching the point). At a point of phase run it first waits,
// for up to two seconds, until the store's runc runs the step's container,
// so the kill orphans a live one; a kill before runc made it, or after it
// exited, is a kill at that point all the same.
func killAtMark(t *testing.T, cmd *exec.Cmd, out fmt.Stringer, root, phase, marker string) bool {
	t.Helper()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.After(60 * time.Second)
	for {
		select {
		case err := <-exited:
			t.Logf("the build ended (%v) before reaching its kill point", err)
			return false
		case <-deadline:
			_ = cmd.Process.Kill()
			<-exited
			t.Fatalf("the build neither reached its kill point nor ended within 60 s:\n%s", out)
		case <-time.After(20 * time.Millisecond):
			if len(readMarks(t, marker)) == 0 {
				continue
			}
			if phase == "run" {
				waitRunning(t, root, 2*time.Second)
			}
			_ = cmd.Process.Signal(syscall.SIGKILL)
			<-exited
			return true
		}
	}
}

// waitRunning returns once a container of the store root runs, or after
// limit.
func waitRunning(t *testing.T, root string, limit time.Duration) {
	t.Helper()
	for end := time.Now().Add(limit); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		for _, c := range containerStates(t, root) {
			if c.Status == "running" {
				return
			}
		}
	}
}

// containerState is one entry of `runc list --format json`.
type containerState struct {
	ID     string `json:"id"`
	Pid    int    `json:"pid"`
	Status string `json:"status"`
}

// containerStates lists the containers in the runc state of the store root
// (kiln's executor keeps it in <root>/run/runc).
func containerStates(t *testing.T, root string) []containerState {
	t.Helper()
	out, err := exec.Command("runc", "--root", filepath.Join(root, "run", "runc"), "list", "--format", "json").Output()
	if err != nil {
		return nil // no state dir yet
	}
	var states []containerState
	if s := strings.TrimSpace(string(out)); s != "" && s != "null" {
		if err := json.Unmarshal(out, &states); err != nil {
			t.Fatalf("runc list: %v\n%s", err, out)
		}
	}
	return states
}

// proc is a process of a test's container, told from a later process that
// reuses its pid by its start time.
type proc struct {
	pid   int
	start string // field 22 of /proc/<pid>/stat
}

// alive reports whether p still runs (a zombie does not).
func (p proc) alive() bool {
	state, start, ok := procStat(p.pid)
	return ok && start == p.start && state != "Z" && state != "X"
}

// procStat reads the state and start time of pid from /proc/<pid>/stat.
func procStat(pid int) (state, start string, ok bool) {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return "", "", false
	}
	// The command name (field 2) may hold spaces: fields count from its ")".
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return "", "", false
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 20 {
		return "", "", false
	}
	return f[0], f[19], true
}

// waitForContainer waits until the build's output shows marker and the
// store's runc runs its container, and returns the container's processes
// (`runc ps`).
func waitForContainer(t *testing.T, root string, out *lockedBuffer, marker string) []proc {
	t.Helper()
	var running containerState
	pollUntil(t, 60*time.Second, "the RUN step's container to print "+marker, func() bool {
		if !strings.Contains(out.String(), marker) {
			return false
		}
		for _, c := range containerStates(t, root) {
			if c.Status == "running" {
				running = c
				return true
			}
		}
		return false
	})
	ps, err := exec.Command("runc", "--root", filepath.Join(root, "run", "runc"), "ps", "--format", "json", running.ID).Output()
	if err != nil {
		t.Fatalf("runc ps %s: %v", running.ID, err)
	}
	var pids []int
	if err := json.Unmarshal(ps, &pids); err != nil {
		t.Fatalf("runc ps %s: %v\n%s", running.ID, err, ps)
	}
	var procs []proc
	for _, pid := range pids {
		if _, start, ok := procStat(pid); ok {
			procs = append(procs, proc{pid, start})
		}
	}
	if len(procs) < 2 {
		t.Fatalf("runc ps %s lists %v, want the shell and sleep", running.ID, pids)
	}
	return procs
}
