package executor

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/kiln-build/kiln/internal/procinfo"
	"github.com/kiln-build/kiln/internal/runcstate"
	"github.com/kiln-build/kiln/internal/snapshot"
)

// TestCleanup leaves a running container whose owner is dead, as a crashed
// kiln would, next to a bundle of a live run; Cleanup removes only the first.
func TestCleanup(t *testing.T) {
	e := newEnv(t)
	dead, err := e.r.newBundle("crashed")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dead.dir, runcstate.OwnerFile), []byte("999999999 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := Spec{Rootfs: e.rootfs, Args: []string{"sleep", "60"}}
	if err := validate(&s); err != nil {
		t.Fatal(err)
	}
	files, err := writeEtcFiles(dead.dir, s)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := buildSpec(s, procUser{}, files, snapshot.RootCaps)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeJSON(filepath.Join(dead.dir, "config.json"), spec); err != nil {
		t.Fatal(err)
	}
	// No pipes: the detached container would hold them open.
	if err := exec.Command(e.r.runc, "--root", e.r.root, "run", "-d", "--bundle", dead.dir, dead.id).Run(); err != nil {
		t.Fatalf("starting detached container: %v", err)
	}
	live, err := e.r.newBundle("live")
	if err != nil {
		t.Fatal(err)
	}

	if err := e.r.Cleanup(context.Background()); err != nil {
		t.Fatalf("Cleanup: %v", err)
	}
	if ids, err := e.r.state().List(context.Background()); err != nil || len(ids) != 0 {
		t.Errorf("containers left: %v %v", ids, err)
	}
	if _, err := os.Stat(dead.dir); !os.IsNotExist(err) {
		t.Errorf("dead bundle still there: %v", err)
	}
	if _, err := os.Stat(live.dir); err != nil {
		t.Errorf("live bundle removed: %v", err)
	}
}

// A bundle's owner is alive only while its pid runs with the recorded start
// time: a later process reusing the pid does not keep the bundle.
func TestOwnerAliveChecksStartTime(t *testing.T) {
	dir := t.TempDir()
	if err := runcstate.WriteOwner(dir); err != nil {
		t.Fatal(err)
	}
	if !runcstate.OwnerAlive(dir) {
		t.Fatal("this process's bundle is not alive")
	}
	start, err := procinfo.StartTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	for _, owner := range []string{
		fmt.Sprintf("%d %s1\n", os.Getpid(), start),
		"999999999 1\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, runcstate.OwnerFile), []byte(owner), 0o644); err != nil {
			t.Fatal(err)
		}
		if runcstate.OwnerAlive(dir) {
			t.Errorf("owner %q is alive", owner)
		}
	}
}
