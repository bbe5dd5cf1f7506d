package executor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/kiln-build/kiln/internal/procinfo"
)

const ownerFile = "owner"

// staleAge is how old a bundle without an owner file must be before Cleanup
// takes it for a crash between mkdir and writing the owner.
const staleAge = time.Minute

// Cleanup deletes containers and bundles left by runs whose process is gone
// (a crash or SIGKILL of an earlier kiln). Runs of live processes, including
// other kiln processes sharing the state dir, are left alone.
func (r *Runner) Cleanup(ctx context.Context) error {
	entries, err := os.ReadDir(r.bundles)
	if err != nil {
		return fmt.Errorf("listing bundles: %w", err)
	}
	var errs []error
	for _, e := range entries {
		dir := filepath.Join(r.bundles, e.Name())
		if ownerAlive(dir) {
			continue
		}
		_ = r.delete(ctx, e.Name()) // usually already gone
		if err := os.RemoveAll(dir); err != nil {
			errs = append(errs, fmt.Errorf("removing bundle %s: %w", e.Name(), err))
		}
	}
	ids, err := r.list(ctx)
	if err != nil {
		errs = append(errs, err)
	}
	for _, id := range ids {
		// Every live run keeps its bundle until its container is deleted.
		if _, err := os.Stat(filepath.Join(r.bundles, id)); errors.Is(err, os.ErrNotExist) {
			if err := r.delete(ctx, id); err != nil && r.exists(ctx, id) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// list returns the ids of the containers in this runner's runc root.
func (r *Runner) list(ctx context.Context) ([]string, error) {
	out, err := exec.CommandContext(ctx, r.runc, "--root", r.root, "list", "--format", "json").Output()
	if err != nil {
		return nil, fmt.Errorf("listing containers: %w", err)
	}
	var states []struct {
		ID string `json:"id"`
	}
	if s := bytes.TrimSpace(out); len(s) > 0 && !bytes.Equal(s, []byte("null")) {
		if err := json.Unmarshal(s, &states); err != nil {
			return nil, fmt.Errorf("parsing container list: %w", err)
		}
	}
	ids := make([]string, 0, len(states))
	for _, s := range states {
		ids = append(ids, s.ID)
	}
	return ids, nil
}

func (r *Runner) exists(ctx context.Context, id string) bool {
	return r.runcCmd(ctx, "state", id) == nil
}

// writeOwner records this process as "pid starttime"; the start time guards
// against the pid being reused by another process later.
func writeOwner(dir string) error {
	start, err := procinfo.StartTime(os.Getpid())
	if err != nil {
		return err
	}
	data := fmt.Sprintf("%d %s\n", os.Getpid(), start)
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(data), 0o644); err != nil {
		return fmt.Errorf("writing bundle owner: %w", err)
	}
	return nil
}

func ownerAlive(dir string) bool {
	data, err := os.ReadFile(filepath.Join(dir, ownerFile))
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

// ReapDead stops and deletes the containers of dead kiln processes in the
// state dir stateDir (see NewRunner), before their mounts are removed: an
// orphaned container keeps running (with its secrets and the host network)
// until it is killed, whatever happens to its rootfs. Without runc there is
// nothing kiln could have started.
func ReapDead(ctx context.Context, stateDir string) error {
	if _, err := exec.LookPath("runc"); err != nil {
		return nil
	}
	if _, err := os.Stat(filepath.Join(stateDir, "bundles")); errors.Is(err, os.ErrNotExist) {
		return nil // no run ever started here
	}
	r, err := NewRunner(stateDir)
	if err != nil {
		return err
	}
	return r.Cleanup(ctx)
}
