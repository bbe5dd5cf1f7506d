package executor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	securejoin "github.com/cyphar/filepath-securejoin"

	"github.com/kiln-build/kiln/internal/deathsig"
	"github.com/kiln-build/kiln/internal/testhook"
)

// A copying snapshotter's mode (root of an ordinary container, no mount(2)
// and no new namespaces) runs RUN without runc: chroot(2) into the step's
// tree, the user switched in the child, the mounts emulated by copying in
// (and a writable one's content back out), each target kept out of the
// layer (Spec.Hide). It has no /proc (mounting one is what it cannot do)
// and no isolation from kiln's own process: RUN runs as kiln's user with
// kiln's capabilities, in kiln's namespaces.

// treeDevices are the nodes made in /dev of the step's tree, as runc's
// default devices (without /dev/pts, /dev/ptmx and the /proc links).
var treeDevices = []struct {
	name         string
	major, minor uint32
}{{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}}

// refuseInTree names what a RUN needs and chroot mode cannot give.
func refuseInTree(s Spec) error {
	if s.Network == NetworkNone {
		return errors.New("RUN --network=none needs a network namespace, which --isolation=container cannot make (an ordinary container refuses new namespaces): remove the flag, or build with --isolation=root or rootless where kiln can make namespaces")
	}
	if s.Insecure {
		return errors.New("RUN --security=insecure is refused with --isolation=container: RUN already has all of kiln's capabilities there, and no more can be given")
	}
	if len(s.Ulimits) > 0 {
		return errors.New("--ulimit cannot be applied with --isolation=container (RUN runs without runc, under kiln's own limits): not supported yet")
	}
	if s.ShmSize > 0 {
		return errors.New("--shm-size cannot be applied with --isolation=container (RUN gets no /dev/shm mount of its own there): not supported yet")
	}
	for _, m := range s.Mounts {
		switch m.Type {
		case "bind":
			fi, err := os.Stat(m.Source)
			if err != nil {
				return fmt.Errorf("mount source for %s: %w", m.Destination, err)
			}
			if fi.Mode()&os.ModeSocket != 0 {
				return fmt.Errorf("RUN --mount=type=ssh (a socket at %s) cannot be copied in with --isolation=container: not supported yet", m.Destination)
			}
		case "tmpfs":
			for _, o := range m.Options {
				if strings.HasPrefix(o, "size=") {
					return fmt.Errorf("a tmpfs mount's size at %s cannot be applied with --isolation=container (it is emulated by a directory of the tree): not supported yet", m.Destination)
				}
			}
		default:
			return fmt.Errorf("a %s mount at %s cannot be emulated with --isolation=container: not supported yet", m.Type, m.Destination)
		}
	}
	return nil
}

// runInTree runs s in the copied tree s.Rootfs (see above).
func (r *Runner) runInTree(ctx context.Context, s Spec) error {
	if err := refuseInTree(s); err != nil {
		return err
	}
	uid, gid, sgids, err := ResolveUser(s.Rootfs, s.User)
	if err != nil {
		return err
	}
	if err := makeCwd(s.Rootfs, s.Cwd, int(uid), int(gid)); err != nil {
		return err
	}
	env, err := withHome(withDefaultPath(s.Env), s.Rootfs, uid)
	if err != nil {
		return err
	}
	argv0, err := lookPathIn(s.Rootfs, s.Args[0], env)
	if err != nil {
		return err
	}
	tr := &treeMounts{root: s.Rootfs, hide: s.Hide, reserved: s.Reserved, mountPoint: s.MountPoint}
	if err := tr.setup(s); err != nil {
		return errors.Join(err, tr.removePlaced())
	}
	cmd := &exec.Cmd{Path: argv0, Args: s.Args, Env: env, Dir: s.Cwd}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: &syscall.Credential{Uid: uid, Gid: gid, Groups: withPrimaryGid(gid, sgids)},
		Setpgid:    true, // leftovers are killed with the group
	}
	if s.Rootfs != "/" { // else the container's own root (snapshot.OwnRoot)
		cmd.SysProcAttr.Chroot = s.Rootfs
	}
	runErr := runGroup(ctx, cmd, s.Stdout, s.Stderr)
	if err := errors.Join(tr.copyOut(), tr.removePlaced()); err != nil {
		return errors.Join(runErr, err)
	}
	return runErr
}

// runGroup runs cmd in its own process group and, once it exits, kills
// what it left running there: nothing of a step outlives it.
func runGroup(ctx context.Context, cmd *exec.Cmd, stdout, stderr io.Writer) error {
	var copies []chan struct{}
	var readers []*os.File
	for _, p := range []struct {
		set func(*os.File)
		w   io.Writer
	}{{func(f *os.File) { cmd.Stdout = f }, stdout}, {func(f *os.File) { cmd.Stderr = f }, stderr}} {
		rd, wr, err := os.Pipe()
		if err != nil {
			return err
		}
		defer wr.Close()
		p.set(wr)
		done := make(chan struct{})
		go func(w io.Writer) { _, _ = io.Copy(w, rd); close(done) }(p.w)
		copies, readers = append(copies, done), append(readers, rd)
	}
	wait, err := deathsig.Start(cmd)
	if err != nil {
		return fmt.Errorf("starting %s in the step's tree: %w", cmd.Path, err)
	}
	cmd.Stdout.(*os.File).Close()
	cmd.Stderr.(*os.File).Close()
	done := make(chan error, 1)
	go func() { done <- wait() }()
	testhook.Point(testhook.Run)
	select {
	case err = <-done:
	case <-ctx.Done():
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		err = ctx.Err()
	}
	reapGroup(cmd.Process.Pid)
	drain := time.NewTimer(pipeDelay) // a leftover that left the group may hold a pipe
	defer drain.Stop()
	for i, c := range copies {
		select {
		case <-c:
		case <-drain.C:
			readers[i].Close()
			<-c
		}
		readers[i].Close()
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code := exit.ExitCode()
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			code = 128 + int(ws.Signal())
		}
		return &ExitError{Code: code}
	}
	return err
}

// reapGroup kills the process group pgid and waits for its members: kiln
// is their subreaper (NewRunner), so the ones the step orphaned are its
// children. A member that left the group (setsid) is not found.
func reapGroup(pgid int) {
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	for {
		var ws syscall.WaitStatus
		if _, err := syscall.Wait4(-pgid, &ws, 0, nil); err != nil && err != syscall.EINTR {
			return // ECHILD: none left
		}
	}
}

// lookPathIn finds a command name in PATH inside rootfs, as the shell in
// the step would; a name with a slash is used as it is.
func lookPathIn(rootfs, name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	var pathEnv string
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			pathEnv = v
		}
	}
	for _, dir := range filepath.SplitList(pathEnv) {
		if !path.IsAbs(dir) {
			continue
		}
		p := path.Join(dir, name)
		host, err := securejoin.SecureJoin(rootfs, p)
		if err != nil {
			continue
		}
		if fi, err := os.Stat(host); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("exec: %q: executable file not found in $PATH", name)
}
