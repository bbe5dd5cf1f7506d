package deathsig

import (
	"os"
	"os/exec"
	"runtime"
	"testing"
)

// TestChildOutlivesEndedThreads starts a child, then ends OS threads the
// way the overlay mount does (a goroutine that exits locked), many times
// over: with a plain cmd.Start one of them is likely the forking thread
// and the child is killed. The child must exit on its own, with status 0.
func TestChildOutlivesEndedThreads(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// The child waits for stdin to close: it runs while threads end.
	cmd := exec.Command("/bin/sh", "-c", "read -r _; exit 0")
	cmd.Stdin = r
	wait, err := Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	for range 4 * runtime.GOMAXPROCS(0) * 8 {
		done := make(chan struct{})
		go func() {
			runtime.LockOSThread() // no unlock: the thread ends with the goroutine
			close(done)
		}()
		<-done
	}
	runtime.Gosched()
	if _, err := w.Write([]byte("go\n")); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if err := wait(); err != nil {
		t.Fatalf("child: %v (killed when a thread ended?)", err)
	}
}
