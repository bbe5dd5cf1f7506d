package instr

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	fscopy "github.com/tonistiigi/fsutil/copy"

	"github.com/kiln-build/kiln/internal/cachekey"
	"github.com/kiln-build/kiln/internal/convert"
	"github.com/kiln-build/kiln/internal/fshash"
	"github.com/kiln-build/kiln/internal/progress"
	"github.com/kiln-build/kiln/internal/snapshot"
)

// copySpec is a converted COPY or ADD (convert.Copy) and what its sources
// add: ADD's extraction, and local directories' root ownership.
type copySpec struct {
	convert.Copy
	unpack bool // ADD: extract local tar archives
	// rootOwned: files from a local directory land as 0:0, as BuildKit's
	// client sends every local file as root's.
	rootOwned bool
}

// runCopy is a converted COPY (convert.CopyOf): its sources hashed, then
// copied on a cache miss.
func runCopy(ctx context.Context, e *Worker, s *State, c *instructions.CopyCommand, cp convert.Copy) error {
	spec := copySpec{Copy: cp}
	src, err := e.copySource(ctx, s, c.From, &spec)
	if err != nil {
		return err
	}
	defer src.Release()
	ch := change{
		linked: spec.Link,
		merged: spec.Link && spec.Chmod == "",
		key: cachekey.Step{
			Op:      "copy",
			Options: spec.KeyOptions(),
			Args:    append(append([]string{spec.Dest, spec.Chown, spec.Chmod}, spec.Srcs...), spec.Excludes...),
			Inputs:  []cachekey.Input{{Name: "sources", Digest: src.Digest}},
		},
		name:    spec.Name,
		history: spec.History,
		apply: func(ctx context.Context, m *snapshot.Active, _ *progress.Vertex) error {
			if err := refuseReserved(m, spec.Dest); err != nil {
				return err
			}
			root, err := src.Root(ctx)
			if err != nil {
				return err
			}
			return copyInto(ctx, root, m.Root, spec)
		},
	}
	return e.commit(ctx, s, ch)
}

// copySource hashes the selected sources: the directory to copy from is
// made only on a cache miss.
func (e *Worker) copySource(ctx context.Context, s *State, from string, spec *copySpec) (Source, error) {
	if len(spec.Inline) > 0 {
		return e.inlineSource(ctx, *spec)
	}
	if spec.FromContext {
		d, err := e.Context.HashRecord(ctx, spec.Srcs, spec.Excludes, true, e.fileRecorder(s))
		if err != nil {
			return Source{}, err
		}
		return dirSource(d, e.StagedContext), nil
	}
	named, err := s.From(ctx, from)
	if err != nil {
		return Source{}, err
	}
	if named.Local != nil {
		d, err := named.Local.Context.HashRecord(ctx, spec.Srcs, spec.Excludes, true, nil)
		if err != nil {
			return Source{}, fmt.Errorf("COPY --from=%s: %w", from, err)
		}
		spec.rootOwned = true
		return dirSource(d, named.Local.View), nil
	}
	return e.imageSource(ctx, from, named.Image, spec)
}

// copyInto copies each source into the mounted rootfs with BuildKit's copier.
func copyInto(ctx context.Context, srcRoot, dstRoot string, spec copySpec) error {
	info := fscopy.CopyInfo{
		FollowLinks:     true,
		CopyDirContents: true,
		ExcludePatterns: spec.Excludes,
	}
	if spec.Chown != "" {
		uid, gid, err := resolveChown(dstRoot, spec.Chown)
		if err != nil {
			return err
		}
		info.Chown = fixedOwner(uid, gid)
	} else if spec.FromContext || spec.rootOwned || len(spec.Inline) > 0 {
		info.Chown = fixedOwner(0, 0) // context files always land as root:root
	}
	if spec.Chmod != "" {
		if p, err := strconv.ParseUint(spec.Chmod, 8, 32); err == nil {
			mode := int(p)
			info.Mode = &mode
		} else {
			info.ModeStr = spec.Chmod
		}
	}
	for _, src := range spec.Srcs {
		matches := []string{src}
		if convert.HasWildcard(src) {
			var err error
			if matches, err = fscopy.ResolveWildcards(srcRoot, src, true); err != nil {
				return err
			}
		}
		if spec.Parents {
			if err := copyParents(ctx, srcRoot, src, dstRoot, spec.Dest, info); err != nil {
				return err
			}
			continue
		}
		for _, m := range matches {
			if spec.unpack {
				// Extracted files keep the archive's owners unless --chown is given.
				var chown fscopy.Chowner
				if spec.Chown != "" {
					chown = info.Chown
				}
				done, err := unpackArchive(ctx, srcRoot, m, dstRoot, spec.Dest, chown)
				if err != nil {
					return fmt.Errorf("extracting %s: %w", m, err)
				}
				if done {
					continue
				}
			}
			err := copyGuarded(srcRoot, func() error {
				return fscopy.Copy(ctx, srcRoot, m, dstRoot, spec.Dest, fscopy.WithCopyInfo(info))
			})
			if err != nil {
				return fmt.Errorf("copying %s: %w", m, err)
			}
		}
	}
	return nil
}

func fixedOwner(uid, gid int) fscopy.Chowner {
	return func(*fscopy.User) (*fscopy.User, error) { return &fscopy.User{UID: uid, GID: gid}, nil }
}

// inlineSource writes COPY heredocs as files (mode 0644, as BuildKit makes
// them) into a private directory the copy reads from.
func (e *Worker) inlineSource(ctx context.Context, spec copySpec) (Source, error) {
	dir, err := e.Store.TempDir("heredoc")
	if err != nil {
		return Source{}, err
	}
	release := func() { os.RemoveAll(dir) }
	for _, sc := range spec.Inline {
		if err := os.WriteFile(filepath.Join(dir, path.Base(sc.Path)), []byte(sc.Data), 0o644); err != nil {
			release()
			return Source{}, err
		}
		e.Progress.Start(inlineDocumentLine).Done(nil)
	}
	d, err := fshash.Paths(ctx, dir, spec.Srcs, fshash.Options{})
	if err != nil {
		release()
		return Source{}, err
	}
	return Source{Digest: d, Root: func(context.Context) (string, error) { return dir, nil }, Release: release}, nil
}

// copyParents is COPY --parents: the source path is kept below the
// destination, from the "/./" pivot on if there is one, as BuildKit does it
// (copy the parent with the rest as an include pattern).
func copyParents(ctx context.Context, srcRoot, src, dstRoot, dest string, info fscopy.CopyInfo) error {
	parent, pattern, ok := strings.Cut(src, "/./")
	if !ok {
		parent, pattern = "/", src
	}
	info.IncludePatterns = []string{strings.TrimPrefix(path.Clean("/"+pattern), "/")}
	if !strings.HasSuffix(dest, "/") {
		dest += "/"
	}
	// A wildcard before the pivot (src/*/./lib/) makes each match a parent,
	// their trees merged below dest, as in BuildKit.
	parents := []string{parent}
	if convert.HasWildcard(parent) {
		var err error
		if parents, err = fscopy.ResolveWildcards(srcRoot, parent, true); err != nil {
			return fmt.Errorf("copying %s: %w", src, err)
		}
	}
	for _, p := range parents {
		if err := fscopy.Copy(ctx, srcRoot, p, dstRoot, dest, fscopy.WithCopyInfo(info)); err != nil {
			return fmt.Errorf("copying %s: %w", src, err)
		}
	}
	return nil
}
