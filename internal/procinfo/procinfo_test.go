package procinfo

import (
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

func TestAlive(t *testing.T) {
	pid := os.Getpid()
	start := SelfStartTime()
	if _, err := strconv.ParseUint(start, 10, 64); err != nil {
		t.Fatalf("SelfStartTime = %q", start)
	}
	if st, err := StartTime(pid); err != nil || st != start {
		t.Fatalf("StartTime = %q, %v; want %q", st, err, start)
	}
	if !Alive(pid, start) || !Alive(pid, "") {
		t.Fatal("this process is not alive")
	}
	if Alive(pid, start+"1") {
		t.Fatal("this process is alive with another start time")
	}
	if Alive(999999999, "") || Alive(0, "") || Alive(-1, "") {
		t.Fatal("a non-existent pid is alive")
	}
}

// An exited but unreaped child is not alive.
func TestZombieIsDead(t *testing.T) {
	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Skip(err)
	}
	defer cmd.Wait()
	pid := cmd.Process.Pid
	for i := 0; i < 1000; i++ {
		if state, _, err := stat(pid); err == nil && state == 'Z' {
			if Alive(pid, "") {
				t.Fatal("a zombie is alive")
			}
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Skip("the child never became a zombie")
}
