package runcstate

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/kiln-build/kiln/internal/procinfo"
)

// OwnerFile names, inside a bundle, the kiln process that made it.
const OwnerFile = "owner"

// staleAge is how old a bundle without an owner file must be before Reap
// takes it for a crash between mkdir and writing the owner.
const staleAge = time.Minute

// WriteOwner records this process as "pid starttime"; the start time guards
// against the pid being reused by another process later. The file appears
// whole (written aside, then renamed): another kiln reaping at that moment
// must never read it empty and take the bundle for a dead one's.
func WriteOwner(dir string) error {
	start, err := procinfo.StartTime(os.Getpid())
	if err != nil {
		return err
	}
	data := fmt.Sprintf("%d %s\n", os.Getpid(), start)
	tmp := filepath.Join(dir, OwnerFile+".tmp")
	if err := os.WriteFile(tmp, []byte(data), 0o644); err != nil {
		return fmt.Errorf("writing bundle owner: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, OwnerFile)); err != nil {
		return fmt.Errorf("writing bundle owner: %w", err)
	}
	return nil
}

// OwnerAlive says whether the process that made bundle dir still runs. A
// bundle whose owner file is missing or unreadable is taken for a live
// one's while it is young (its maker may be between mkdir and the owner
// file), and for a crashed one's after staleAge.
func OwnerAlive(dir string) bool {
	data, err := os.ReadFile(filepath.Join(dir, OwnerFile))
	f := strings.Fields(string(data))
	if err != nil || len(f) != 2 {
		fi, serr := os.Stat(dir)
		return serr == nil && time.Since(fi.ModTime()) < staleAge
	}
	pid, err := strconv.Atoi(f[0])
	return err == nil && procinfo.Alive(pid, f[1])
}
