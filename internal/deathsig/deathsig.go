// Package deathsig starts child processes that die with kiln.
//
// Linux sends a parent-death signal (PR_SET_PDEATHSIG) when the thread that
// forked the child ends, not when the process does. The Go runtime ends an
// OS thread whenever a goroutine exits while locked to it (the overlay
// mount's CLONE_FS chdir does that on purpose), and any goroutine's fork
// may have run on that thread earlier: its child was then killed mid-step
// ("signal: killed"). Start forks from a thread that stays locked, so no
// other goroutine can use or end it, until the child has been waited for.
package deathsig

import (
	"os/exec"
	"runtime"
	"syscall"
)

// Start starts cmd with SIGKILL as its parent-death signal, keeping any
// SysProcAttr fields already set. The returned wait reaps the child (as
// cmd.Wait) and must be called exactly once; it may be called from any
// goroutine.
func Start(cmd *exec.Cmd) (wait func() error, err error) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	started := make(chan error, 1)
	exited := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		exited <- cmd.Wait()
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return func() error { return <-exited }, nil
}
