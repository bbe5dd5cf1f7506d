package instr

import (
	"context"
	"fmt"
	"os"
	"path"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"

	"github.com/kiln-build/kiln/internal/cachekey"
	"github.com/kiln-build/kiln/internal/progress"
	"github.com/kiln-build/kiln/internal/snapshot"
)

// runWorkdir creates the working directory convert.Workdir set, owned by
// the current USER, as BuildKit does ("/" makes no op).
func runWorkdir(ctx context.Context, e *Worker, s *State, wd string) error {
	user := s.Img.Config.Config.User
	ch := change{
		key:     cachekey.Step{Op: "workdir", Args: []string{wd}, User: user},
		name:    "WORKDIR " + wd,
		history: "WORKDIR " + wd,
		apply: func(ctx context.Context, m *snapshot.Active, _ *progress.Vertex) error {
			if err := refuseReserved(m, wd); err != nil {
				return err
			}
			return mkdirAs(m.Root, wd, user)
		},
	}
	return e.commit(ctx, s, ch)
}

// mkdirAs creates dir and missing parents inside rootfs, owned by user. As
// in BuildKit, the owner is resolved like COPY --chown, not like RUN's user:
// USER 1234 makes the directory 1234:1234.
func mkdirAs(rootfs, dir, user string) error {
	uid, gid := 0, 0
	if user != "" {
		var err error
		if uid, gid, err = resolveChown(rootfs, user); err != nil {
			return err
		}
	}
	// Component by component, as the path is written (MkdirAll, as in
	// BuildKit): WORKDIR /a/../b makes /a and /b. Each prefix is resolved
	// inside rootfs, through its symlinks.
	cur := ""
	for _, part := range strings.Split(strings.Trim(dir, "/"), "/") {
		if part == "" || part == "." {
			continue
		}
		cur += "/" + part
		full, err := securejoin.SecureJoin(rootfs, cur)
		if err != nil {
			return err
		}
		if _, err := os.Lstat(full); err == nil {
			continue
		}
		if err := os.Mkdir(full, 0o755); err != nil && !os.IsExist(err) {
			return err
		}
		if err := os.Lchown(full, uid, gid); err != nil {
			return err
		}
	}
	return nil
}

// refuseReserved refuses a step's write at dest where the step's root is
// the builder container's own and dest is one of its mounts (or kiln's
// own files): the write would reach the volume, not the image.
func refuseReserved(m *snapshot.Active, dest string) error {
	rel := strings.TrimPrefix(path.Clean("/"+dest), "/")
	if rel != "" && m.Kept(rel) {
		return fmt.Errorf("%s is where the builder container has a mount (or kiln's own files): a step over the container's own root (--isolation=container) cannot write there; move the volume or the destination", path.Clean("/"+dest))
	}
	return nil
}
