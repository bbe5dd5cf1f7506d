package instr

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// copyStallAfter is how long a source file may sit open at its end before
// copyGuarded takes the copy for stuck. A copy that reaches the end closes
// the file at once.
var copyStallAfter = 2 * time.Second

// copyGuarded runs copy (an fsutil copy reading below srcRoot) and keeps a
// source file that shrinks under it from hanging the build.
//
// fsutil's copyFileContent loops on copy_file_range until it has copied the
// size it stat'ed; once the file is truncated after that stat the call
// returns 0 forever, at 100 % CPU (`kiln build > CTX/build.log` with COPY .
// does it). BuildKit escapes only because it copies a transferred snapshot;
// kiln reads the context in place. The guard watches this process's open
// files below srcRoot: one that stays open at or past its end (a copy in
// progress moves on at once) is swapped, with dup3, for a pipe, on which
// copy_file_range fails with EINVAL. fsutil then returns an error, which
// becomes a clear one naming the file; fsutil still owns and closes the fd.
// The fix belongs in fsutil (stop when copy_file_range returns 0); this
// goes once a release has it.
func copyGuarded(srcRoot string, copy func() error) error {
	done := make(chan struct{})
	var stuck []string
	var watcher sync.WaitGroup
	watcher.Go(func() {
		watchStalls(done, srcRoot, func(path string) { stuck = append(stuck, path) })
	})
	err := copy()
	close(done)
	// The copy may fail on a swapped fd before the watcher has noted the
	// file: wait for it to finish its round, so stuck is complete.
	watcher.Wait()
	if len(stuck) > 0 {
		rel, _ := filepath.Rel(srcRoot, stuck[0])
		return fmt.Errorf("%s shrank while it was copied (is something, such as this build's output, writing into the build context?): %w", rel, err)
	}
	return err
}

// openAt is one open file of this process, as watchStalls last saw it.
type openAt struct {
	ino, pos int64
	since    time.Time
}

// watchStalls polls /proc/self/fd until done, and unsticks (see
// copyGuarded) each file below root left open at or past its end for
// copyStallAfter.
func watchStalls(done <-chan struct{}, root string, unstuck func(path string)) {
	tick := time.NewTicker(copyStallAfter / 4)
	defer tick.Stop()
	seen := map[int]openAt{}
	for {
		select {
		case <-done:
			return
		case <-tick.C:
		}
		now := time.Now()
		next := map[int]openAt{}
		entries, _ := os.ReadDir("/proc/self/fd")
		for _, e := range entries {
			fd, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			path, err := os.Readlink("/proc/self/fd/" + e.Name())
			if err != nil || !strings.HasPrefix(path, root+"/") {
				continue
			}
			var st unix.Stat_t
			if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
				continue
			}
			pos, err := unix.Seek(fd, 0, 1) // SEEK_CUR: fsutil copies at the file position
			if err != nil || pos < st.Size {
				continue
			}
			cur := openAt{ino: int64(st.Ino), pos: pos, since: now}
			if prev, ok := seen[fd]; ok && prev.ino == cur.ino && prev.pos == cur.pos {
				cur.since = prev.since
			}
			if now.Sub(cur.since) >= copyStallAfter && unstick(fd) {
				unstuck(path)
				continue
			}
			next[fd] = cur
		}
		seen = next
	}
}

// unstick replaces fd with the read end of a closed pipe.
func unstick(fd int) bool {
	var p [2]int
	if unix.Pipe2(p[:], unix.O_CLOEXEC) != nil {
		return false
	}
	defer unix.Close(p[0])
	unix.Close(p[1])
	return unix.Dup3(p[0], fd, unix.O_CLOEXEC) == nil
}
