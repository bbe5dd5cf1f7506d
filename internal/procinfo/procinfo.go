// Package procinfo tells whether a process recorded earlier by pid and start
// time is still the same live process. The start time guards against pid
// reuse: on a long-running host another process may get a dead one's pid.
package procinfo

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
)

// stat reads a process's state (field 3) and start time (field 22, clock
// ticks since boot) from /proc/PID/stat.
func stat(pid int) (state byte, start string, err error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, "", fmt.Errorf("reading process start time: %w", err)
	}
	// The command name may hold spaces and parens; fields resume after the last ')'.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, "", fmt.Errorf("parsing /proc/%d/stat", pid)
	}
	f := strings.Fields(string(data[i+1:]))
	const startField = 22 - 3 // fields after ')' begin with field 3
	if len(f) <= startField || len(f[0]) != 1 {
		return 0, "", fmt.Errorf("parsing /proc/%d/stat", pid)
	}
	return f[0][0], f[startField], nil
}

// StartTime is pid's start time in clock ticks since boot, as a decimal string.
func StartTime(pid int) (string, error) {
	_, start, err := stat(pid)
	return start, err
}

var self struct {
	once  sync.Once
	start string
}

// SelfStartTime is this process's start time, or "" if /proc cannot tell it.
func SelfStartTime() string {
	self.once.Do(func() { self.start, _ = StartTime(os.Getpid()) })
	return self.start
}

// Alive reports whether pid is a live process (not a zombie: an exited but
// unreaped process is gone for our purposes, its parent may never reap it)
// that started at start. An empty start matches any start time, for records
// that predate start times.
func Alive(pid int, start string) bool {
	if pid <= 0 {
		return false
	}
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	state, st, err := stat(pid)
	return err == nil && state != 'Z' && (start == "" || st == start)
}
