package instr

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"

	"github.com/kiln-build/kiln/internal/cachekey"
	"github.com/kiln-build/kiln/internal/executor"
	"github.com/kiln-build/kiln/internal/store"
)

// secretMount is RUN --mount=type=secret: the value given with --secret,
// as a read-only file on a tmpfs outside the store, or as an environment
// variable. A missing secret is skipped unless required=true, as in
// BuildKit, and as there the step's key is the same with the secret given
// or not: a build without it reuses the result of one with it.
func (e *Worker) secretMount(m *instructions.Mount, target string) (*preparedMount, error) {
	id := m.CacheID
	if id == "" && target != "" {
		id = filepath.Base(target)
	}
	if id == "" {
		return nil, fmt.Errorf("--mount=type=secret needs id= or target=")
	}
	value, given := e.Secrets[id]
	if !given && m.Required {
		return nil, fmt.Errorf("secret %q is required but was not given: add --secret id=%s,src=FILE", id, id)
	}
	pm := &preparedMount{key: cachekey.Mount{Type: "secret", Target: target, Options: []string{"id=" + id}}}
	if m.Env != nil {
		name := *m.Env
		if name == "" {
			name = id
		}
		if given {
			pm.env = []string{name + "=" + string(value)}
		}
		pm.key.Options = append(pm.key.Options, "env="+name)
		if m.Target == "" {
			pm.setup = noMount
			return pm, nil
		}
	}
	if target == "" {
		target = "/run/secrets/" + id
		pm.key.Target = target
	}
	if !given {
		pm.setup = noMount
		return pm, nil
	}
	mode, uid, gid := uint64(0o400), 0, 0
	if m.Mode != nil {
		mode = *m.Mode
	}
	if m.UID != nil {
		uid = int(*m.UID)
	}
	if m.GID != nil {
		gid = int(*m.GID)
	}
	pm.setup = func(context.Context) (*executor.Mount, func(), error) {
		file, cleanup, err := writeSecretFile(value, os.FileMode(mode), uid, gid)
		if err != nil {
			return nil, nil, err
		}
		return &executor.Mount{Type: "bind", Source: file, Destination: target, Options: []string{"rbind", "ro", "nosuid", "nodev", "noexec"}}, cleanup, nil
	}
	return pm, nil
}

// noMount is the setup of a mount that puts nothing in the container: an
// env= secret, or a secret that was not given.
func noMount(context.Context) (*executor.Mount, func(), error) { return nil, func() {}, nil }

// writeSecretFile puts a secret on tmpfs (/dev/shm when there is one), so
// it never touches the store's disk.
func writeSecretFile(value []byte, mode os.FileMode, uid, gid int) (string, func(), error) {
	base := store.SecretDirBases()[0]
	if fi, err := os.Stat(base); err != nil || !fi.IsDir() {
		base = ""
	}
	// Named by its owner, so the next kiln removes it if this one dies.
	dir, err := os.MkdirTemp(base, store.SecretDirPattern())
	if err != nil {
		return "", nil, fmt.Errorf("creating secret directory: %w", err)
	}
	cleanup := func() { os.RemoveAll(dir) }
	file := filepath.Join(dir, "secret")
	if err := os.WriteFile(file, value, 0o600); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("writing secret: %w", err)
	}
	if err := os.Chown(file, uid, gid); err != nil {
		cleanup()
		return "", nil, err
	}
	if err := os.Chmod(file, mode); err != nil {
		cleanup()
		return "", nil, err
	}
	return file, cleanup, nil
}
