package instr

import (
	"context"
	"fmt"
	"path"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"

	"github.com/kiln-build/kiln/internal/cachekey"
	"github.com/kiln-build/kiln/internal/executor"
)

// preparedMount is one RUN --mount: its cache-key part, known before the
// cache lookup, and how to set it up when the step really runs.
type preparedMount struct {
	key   cachekey.Mount
	env   []string // secret env= values: given to the process, never to keys or history
	setup func(ctx context.Context) (*executor.Mount, func(), error)
}

// runMounts interprets RUN --mount flags. Cache-mount contents and secret
// values never enter the key; bind sources enter it by content.
func (e *Worker) runMounts(ctx context.Context, s *State, ms []*instructions.Mount) ([]preparedMount, error) {
	var out []preparedMount
	sshCount := 0
	for _, m := range ms {
		target := m.Target
		if target != "" && !path.IsAbs(target) {
			target = path.Join(s.WorkDir(), target)
		}
		var pm *preparedMount
		var err error
		switch m.Type {
		case instructions.MountTypeCache:
			pm, err = e.cacheMount(ctx, s, m, target)
		case instructions.MountTypeSecret:
			pm, err = e.secretMount(m, target)
		case instructions.MountTypeTmpfs:
			pm = tmpfsMount(m, target)
		case instructions.MountTypeBind:
			pm, err = e.bindMount(ctx, s, m, target)
		case instructions.MountTypeSSH:
			pm, err = e.sshMount(m, target, sshCount)
			sshCount++
		default:
			err = fmt.Errorf("RUN --mount=type=%s is not supported yet", m.Type)
		}
		if err != nil {
			return nil, err
		}
		if pm != nil {
			out = append(out, *pm)
		}
	}
	return out, nil
}

func tmpfsMount(m *instructions.Mount, target string) *preparedMount {
	opts := []string{"nosuid", "nodev"}
	if m.SizeLimit > 0 {
		opts = append(opts, fmt.Sprintf("size=%d", m.SizeLimit))
	}
	return &preparedMount{
		key: cachekey.Mount{Type: "tmpfs", Target: target, Options: opts},
		setup: func(context.Context) (*executor.Mount, func(), error) {
			return &executor.Mount{Type: "tmpfs", Source: "tmpfs", Destination: target, Options: opts}, func() {}, nil
		},
	}
}

// setupMounts prepares every mount of a running step; release undoes them.
func setupMounts(ctx context.Context, pms []preparedMount) ([]executor.Mount, func(), error) {
	var mounts []executor.Mount
	var releases []func()
	release := func() {
		for i := len(releases) - 1; i >= 0; i-- {
			releases[i]()
		}
	}
	for _, pm := range pms {
		m, rel, err := pm.setup(ctx)
		if err != nil {
			release()
			return nil, nil, err
		}
		releases = append(releases, rel)
		if m != nil {
			mounts = append(mounts, *m)
		}
	}
	return mounts, release, nil
}

func mountKeys(pms []preparedMount) []cachekey.Mount {
	keys := make([]cachekey.Mount, 0, len(pms))
	for _, pm := range pms {
		keys = append(keys, pm.key)
	}
	return keys
}

func mountEnv(pms []preparedMount) []string {
	var env []string
	for _, pm := range pms {
		env = append(env, pm.env...)
	}
	return env
}
