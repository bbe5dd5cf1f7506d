package isolation

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/kiln-build/kiln/internal/deathsig"
)

// envStage marks kiln's own re-execution in a user namespace: "wait" until
// the parent has written the id maps, then "in".
const envStage = "_KILN_USERNS_STAGE"

// waitShell waits in the child Enter starts: a shell reads the parent's
// byte (the id maps are written) and then execs kiln, which runs as the
// namespace's root. The child's first exec happens before the maps exist,
// as an unmapped user, and so drops the namespace's capabilities; the
// second must come after. A shell costs about a millisecond where a
// waiting kiln costs a whole start (the runtime and package init).
const waitShell = "/bin/sh"

const waitScript = `read -r _ <&3 || exit 1; exec "$0" "$@" 3<&-`

// InitChild must run first in main. Where there is no /bin/sh, the child
// Enter started is kiln itself: it waits for the parent to map its ids,
// then executes itself again, as the namespace's root (see waitShell).
func InitChild() {
	if os.Getenv(envStage) != "wait" {
		return
	}
	sync := os.NewFile(3, "userns-sync")
	buf := make([]byte, 1)
	if n, _ := sync.Read(buf); n != 1 {
		os.Exit(1) // the parent failed to map ids and reported it
	}
	sync.Close()
	os.Setenv(envStage, "in")
	exe, err := os.Executable()
	if err == nil {
		err = syscall.Exec(exe, os.Args, os.Environ())
	}
	fmt.Fprintln(os.Stderr, "kiln: re-executing in the user namespace:", err)
	os.Exit(1)
}

// InEnteredNS reports whether this process is kiln re-executed by Enter.
func InEnteredNS() bool { return os.Getenv(envStage) == "in" }

// Enter runs this program again, with the same arguments, as root of a
// new user and mount namespace in which the user's id 0 is their own uid
// and ids from 1 on are their subordinate ranges, all of them. It returns
// the child's exit status. Cancelling ctx forwards SIGTERM to the child.
func Enter(ctx context.Context, f Facts) (int, error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, fmt.Errorf("entering a user namespace: %w", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return 0, fmt.Errorf("entering a user namespace: %w", err)
	}
	defer w.Close()
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Env = append(os.Environ(), envStage+"=wait")
	if fi, err := os.Stat(waitShell); err == nil && fi.Mode()&0o111 != 0 {
		cmd = exec.Command(waitShell, append([]string{"-c", waitScript, exe}, os.Args[1:]...)...)
		cmd.Env = append(os.Environ(), envStage+"=in")
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.ExtraFiles = []*os.File{r}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS,
	}
	wait, err := deathsig.Start(cmd) // the child dies with kiln
	if err != nil {
		r.Close()
		return 0, fmt.Errorf("entering a user namespace: %w%s", err, seccompHint(f))
	}
	r.Close()
	if err := mapIDs(cmd.Process.Pid, f); err != nil {
		w.Close() // the child exits without a byte
		_ = wait()
		return 0, err
	}
	if _, err := w.Write([]byte("1\n")); err != nil { // a line, for the shell's read
		_ = wait()
		return 0, fmt.Errorf("entering a user namespace: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- wait() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		_ = cmd.Process.Signal(syscall.SIGTERM)
		err = <-done
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), nil
		}
		return ee.ExitCode(), nil
	}
	if err != nil {
		return 0, fmt.Errorf("running kiln in the user namespace: %w", err)
	}
	return 0, nil
}

// mapIDs writes the child's uid and gid maps with the setuid helpers, both
// at once: they write different files, and each is a few milliseconds of a
// rootless build's start.
func mapIDs(pid int, f Facts) error {
	maps := []struct {
		helper string
		self   int
		ranges []IDRange
	}{{f.NewUIDMap, os.Geteuid(), f.SubUIDs}, {f.NewGIDMap, os.Getegid(), f.SubGIDs}}
	errs := make([]error, len(maps))
	var wg sync.WaitGroup
	for i, m := range maps {
		wg.Go(func() {
			args := append([]string{strconv.Itoa(pid)}, MapArgs(m.self, m.ranges)...)
			out, err := exec.Command(m.helper, args...).CombinedOutput()
			if err != nil {
				msg := strings.TrimSpace(string(out))
				if f.NoNewPrivs {
					msg += " (no_new_privs is set: the setuid helper cannot gain privileges)"
				}
				errs[i] = fmt.Errorf("mapping ids with %s %s: %w: %s", m.helper, strings.Join(args, " "), err, msg)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// MapArgs are newuidmap's triples: 0 is self, then every subordinate range
// back to back from 1.
func MapArgs(self int, ranges []IDRange) []string {
	var out []string
	for _, m := range nsMappings(self, ranges) {
		out = append(out, strconv.FormatUint(uint64(m.inside), 10), strconv.FormatUint(uint64(m.Start), 10), strconv.FormatUint(uint64(m.Count), 10))
	}
	return out
}

// nsMapping is one line of a uid_map: Count host ids from Start, seen from
// inside in order.
type nsMapping struct {
	inside uint32
	IDRange
}

func nsMappings(self int, ranges []IDRange) []nsMapping {
	out := []nsMapping{{0, IDRange{uint32(self), 1}}}
	next := uint32(1)
	for _, r := range ranges {
		out = append(out, nsMapping{next, r})
		next += r.Count
	}
	return out
}

// overflowID is what a user namespace shows for an unmapped id (the
// kernel's default overflowuid and overflowgid).
const overflowID = 65534

// OwnersInside maps a file's host owner to the owner the namespace Enter
// makes for this user will show, so a build answered from the cache before
// entering it keys the context as the build inside would.
func (f Facts) OwnersInside() func(uid, gid uint32) (uint32, uint32) {
	uids, gids := nsMappings(os.Geteuid(), f.SubUIDs), nsMappings(os.Getegid(), f.SubGIDs)
	return func(uid, gid uint32) (uint32, uint32) { return inside(uids, uid), inside(gids, gid) }
}

func inside(m []nsMapping, id uint32) uint32 {
	for _, r := range m {
		if id >= r.Start && id-r.Start < r.Count {
			return r.inside + id - r.Start
		}
	}
	return overflowID
}
