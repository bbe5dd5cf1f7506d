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
// against the pid being reused by another process later.
func WriteOwner(dir string) error {
	start, err := procinfo.StartTime(os.Getpid())
	if err != nil {
		return err
	}
	data := fmt.Sprintf("%d %s\n", os.Getpid(), start)
	if err := os.WriteFile(filepath.Join(dir, OwnerFile), []byte(data), 0o644); err != nil {
		return fmt.Errorf("writing bundle owner: %w", err)
	}
	return nil
}

// OwnerAlive says whether the process that made bundle dir still runs.
func OwnerAlive(dir string) bool {
	data, err := os.ReadFile(filepath.Join(dir, OwnerFile))
	if err != nil {
		fi, serr := os.Stat(dir)
		return serr == nil && time.Since(fi.ModTime()) < staleAge
	}
	f := strings.Fields(string(data))
	if len(f) != 2 {
		return false
	}
	pid, err := strconv.Atoi(f[0])
	return err == nil && procinfo.Alive(pid, f[1])
}
