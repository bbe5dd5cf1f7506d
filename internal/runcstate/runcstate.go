// Package runcstate is the runc side of a store's run/ directory: which kiln
// process owns each bundle, and the reaping of containers and bundles whose
// kiln died. It sits below both the store (every command reaps on open) and
// the executor (which writes the owners), so neither imports the other.
package runcstate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Dir is one runc state directory: the runc binary, its --root and the
// bundles kiln made for it.
type Dir struct {
	Runc    string
	Root    string
	Bundles string
}

// At is the layout under a store's run/ dir (see executor.NewRunner).
func At(runc, stateDir string) Dir {
	return Dir{Runc: runc, Root: filepath.Join(stateDir, "runc"), Bundles: filepath.Join(stateDir, "bundles")}
}

// cmdTimeout bounds one runc state command: a wedged runc must not wedge
// every kiln command that opens the store.
const cmdTimeout = 10 * time.Second

// Cmd runs `runc --root Root args...`.
func (d Dir) Cmd(ctx context.Context, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, cmdTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, d.Runc, append([]string{"--root", d.Root}, args...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("running runc %s: %w: %s", args[0], err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Delete force-deletes container id (killing it if it runs).
func (d Dir) Delete(ctx context.Context, id string) error { return d.Cmd(ctx, "delete", "--force", id) }

// Exists says whether runc knows container id.
func (d Dir) Exists(ctx context.Context, id string) bool { return d.Cmd(ctx, "state", id) == nil }

// List returns the ids of the containers under Root.
func (d Dir) List(ctx context.Context) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, cmdTimeout)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, d.Runc, "--root", d.Root, "list", "--format", "json")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("listing containers: %w: %s", err, strings.TrimSpace(stderr.String()))
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

// Reap deletes containers and bundles left by runs whose process is gone (a
// crash or SIGKILL of an earlier kiln). Runs of live processes, including
// other kiln processes sharing the state dir, are left alone.
func (d Dir) Reap(ctx context.Context) error {
	entries, err := os.ReadDir(d.Bundles)
	if err != nil {
		return fmt.Errorf("listing bundles: %w", err)
	}
	var errs []error
	for _, e := range entries {
		dir := filepath.Join(d.Bundles, e.Name())
		if OwnerAlive(dir) {
			continue
		}
		_ = d.Delete(ctx, e.Name()) // usually already gone
		if err := os.RemoveAll(dir); err != nil {
			errs = append(errs, fmt.Errorf("removing bundle %s: %w", e.Name(), err))
		}
	}
	if !d.hasContainers() {
		// runc keeps one directory per container under Root: none means
		// there is nothing to list (and `runc list` costs a process start
		// on every command that opens the store).
		return errors.Join(errs...)
	}
	ids, err := d.List(ctx)
	if err != nil {
		errs = append(errs, err)
	}
	for _, id := range ids {
		// Every live run keeps its bundle until its container is deleted.
		if _, err := os.Stat(filepath.Join(d.Bundles, id)); errors.Is(err, os.ErrNotExist) {
			if err := d.Delete(ctx, id); err != nil && d.Exists(ctx, id) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// hasContainers says whether Root holds any container state, or cannot be
// read (then List decides).
func (d Dir) hasContainers() bool {
	entries, err := os.ReadDir(d.Root)
	if errors.Is(err, os.ErrNotExist) {
		return false // runc never ran here
	}
	return err != nil || len(entries) > 0
}

// ReapDead stops and deletes the containers of dead kiln processes in the
// state dir stateDir, before their mounts are removed: an orphaned container
// keeps running (with its secrets and the host network) until it is killed,
// whatever happens to its rootfs. Without runc there is nothing kiln could
// have started.
func ReapDead(ctx context.Context, stateDir string) error {
	runc, err := exec.LookPath("runc")
	if err != nil {
		return nil
	}
	d := At(runc, stateDir)
	if _, err := os.Stat(d.Bundles); errors.Is(err, os.ErrNotExist) {
		return nil // no run ever started here
	}
	return d.Reap(ctx)
}
