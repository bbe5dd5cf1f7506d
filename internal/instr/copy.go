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
	"github.com/kiln-build/kiln/internal/fshash"
	"github.com/kiln-build/kiln/internal/progress"
	"github.com/kiln-build/kiln/internal/snapshot"
)

// copySpec is a COPY after expansion and validation.
type copySpec struct {
	srcs     []string
	dest     string
	chown    string
	chmod    string
	excludes []string
	fromCtx  bool
	inline   []instructions.SourceContent // COPY <<EOF heredocs
	unpack   bool                         // ADD: extract local tar archives
	link     bool                         // --link: a layer independent of the ones below
	parents  bool                         // --parents: keep the source paths below the pivot
	// rootOwned: files from a local directory land as 0:0, as BuildKit's
	// client sends every local file as root's.
	rootOwned bool
}

func dispatchCopy(ctx context.Context, e *Env, s *State, c *instructions.CopyCommand) error {
	spec, err := newCopySpec(s, c)
	if err != nil {
		return err
	}
	src, err := e.copySource(ctx, s, c.From, &spec)
	if err != nil {
		return err
	}
	defer src.Release()
	ch := change{
		linked: spec.link,
		key: cachekey.Step{
			Op:      "copy",
			Options: copyFlags(spec),
			Args:    append(append([]string{spec.dest, spec.chown, spec.chmod}, spec.srcs...), spec.excludes...),
			Inputs:  []cachekey.Input{{Name: "sources", Digest: src.Digest}},
		},
		name:    "COPY " + copyDisplay(c),
		history: fileOpHistory("COPY", c.SourcesAndDest, c.Parents, c.Chown, c.Chmod) + " # buildkit",
		apply: func(ctx context.Context, m *snapshot.Active, _ *progress.Vertex) error {
			root, err := src.Root(ctx)
			if err != nil {
				return err
			}
			return copyInto(ctx, root, m.Root, spec)
		},
	}
	return e.commit(ctx, s, ch)
}

func newCopySpec(s *State, c *instructions.CopyCommand) (copySpec, error) {
	if c.Link && chownByName(c.Chown) {
		return copySpec{}, fmt.Errorf("--chown=%s: user and group names can't be resolved when used with --link, use numeric uid[:gid] instead", c.Chown)
	}
	if c.Chmod != "" {
		if err := checkChmod(c.Chmod); err != nil {
			return copySpec{}, err
		}
	}
	spec := copySpec{
		srcs: c.SourcePaths, dest: s.resolvePath(c.DestPath), chown: c.Chown, chmod: c.Chmod,
		excludes: c.ExcludePatterns, fromCtx: c.From == "" && len(c.SourceContents) == 0,
		inline: c.SourceContents, link: c.Link, parents: c.Parents,
	}
	for _, sc := range c.SourceContents {
		spec.srcs = append(spec.srcs, path.Base(sc.Path))
	}
	// Several sources (or a wildcard's matches) onto a destination without
	// a trailing slash are each copied onto it, as BuildKit does: the last
	// file wins (COPY a b /dest makes the file /dest holding b).
	return spec, nil
}

func hasWildcard(p string) bool { return strings.ContainsAny(p, "*?[") }

func checkChmod(m string) error {
	if p, err := strconv.ParseUint(m, 8, 32); err == nil {
		if p > 0o7777 {
			return fmt.Errorf("invalid chmod parameter: '%v'. it should be octal string and between 0 and 07777", m)
		}
		return nil
	}
	if strings.Trim(m, "0123456789") == "" {
		return fmt.Errorf("invalid chmod parameter: '%v'. it should be octal string and between 0 and 07777", m)
	}
	return nil // symbolic modes are checked by the copier
}

// copySource hashes the selected sources: the directory to copy from is
// made only on a cache miss.
func (e *Env) copySource(ctx context.Context, s *State, from string, spec *copySpec) (Source, error) {
	if len(spec.inline) > 0 {
		return e.inlineSource(ctx, *spec)
	}
	if spec.fromCtx {
		d, err := e.Context.HashRecord(ctx, spec.srcs, spec.excludes, true, e.fileRecorder(s))
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
		d, err := named.Local.Context.HashRecord(ctx, spec.srcs, spec.excludes, true, nil)
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
		ExcludePatterns: spec.excludes,
	}
	if spec.chown != "" {
		uid, gid, err := resolveChown(dstRoot, spec.chown)
		if err != nil {
			return err
		}
		info.Chown = fixedOwner(uid, gid)
	} else if spec.fromCtx || spec.rootOwned || len(spec.inline) > 0 {
		info.Chown = fixedOwner(0, 0) // context files always land as root:root
	}
	if spec.chmod != "" {
		if p, err := strconv.ParseUint(spec.chmod, 8, 32); err == nil {
			mode := int(p)
			info.Mode = &mode
		} else {
			info.ModeStr = spec.chmod
		}
	}
	for _, src := range spec.srcs {
		matches := []string{src}
		if hasWildcard(src) {
			var err error
			if matches, err = fscopy.ResolveWildcards(srcRoot, src, true); err != nil {
				return err
			}
		}
		if spec.parents {
			if err := copyParents(ctx, srcRoot, src, dstRoot, spec.dest, info); err != nil {
				return err
			}
			continue
		}
		for _, m := range matches {
			if spec.unpack {
				// Extracted files keep the archive's owners unless --chown is given.
				var chown fscopy.Chowner
				if spec.chown != "" {
					chown = info.Chown
				}
				done, err := unpackArchive(ctx, srcRoot, m, dstRoot, spec.dest, chown)
				if err != nil {
					return fmt.Errorf("extracting %s: %w", m, err)
				}
				if done {
					continue
				}
			}
			err := copyGuarded(srcRoot, func() error {
				return fscopy.Copy(ctx, srcRoot, m, dstRoot, spec.dest, fscopy.WithCopyInfo(info))
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

func copyDisplay(c *instructions.CopyCommand) string {
	parts := []string{}
	if c.From != "" {
		parts = append(parts, "--from="+c.From)
	}
	return strings.Join(append(append(parts, c.SourcePaths...), c.DestPath), " ")
}

// fileOpHistory is BuildKit's created_by for COPY and ADD: the flags it
// records, the sources, the heredocs as <<NAME, and the destination as the
// Dockerfile wrote it (expanded, not resolved against WORKDIR).
func fileOpHistory(op string, c instructions.SourcesAndDest, parents bool, chown, chmod string) string {
	msg := op
	if parents {
		msg += " --parents"
	}
	if chown != "" {
		msg += " --chown=" + chown
	}
	if chmod != "" {
		msg += " --chmod=" + chmod
	}
	for _, src := range c.SourcePaths {
		msg += " " + src
	}
	for _, sc := range c.SourceContents {
		msg += " <<" + sc.Path
	}
	return msg + " " + c.DestPath
}

// inlineSource writes COPY heredocs as files (mode 0644, as BuildKit makes
// them) into a private directory the copy reads from.
func (e *Env) inlineSource(ctx context.Context, spec copySpec) (Source, error) {
	dir, err := e.Store.TempDir("heredoc")
	if err != nil {
		return Source{}, err
	}
	release := func() { os.RemoveAll(dir) }
	for _, sc := range spec.inline {
		if err := os.WriteFile(filepath.Join(dir, path.Base(sc.Path)), []byte(sc.Data), 0o644); err != nil {
			release()
			return Source{}, err
		}
	}
	d, err := fshash.Paths(ctx, dir, spec.srcs, fshash.Options{})
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
	if hasWildcard(parent) {
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

func chownByName(chown string) bool {
	u, g, _ := strings.Cut(chown, ":")
	_, errU := strconv.Atoi(u)
	_, errG := strconv.Atoi(g)
	return chown != "" && (errU != nil || (g != "" && errG != nil))
}

func copyFlags(spec copySpec) []string {
	var f []string
	if spec.link {
		f = append(f, "link")
	}
	if spec.parents {
		f = append(f, "parents")
	}
	return f
}
