package instr

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"

	"github.com/kiln-build/kiln/internal/cachekey"
	"github.com/kiln-build/kiln/internal/convert"
	"github.com/kiln-build/kiln/internal/progress"
	"github.com/kiln-build/kiln/internal/snapshot"
)

// runAdd is a converted ADD (convert.AddOf): COPY plus ADD's extras, local
// tar archives extracted into the destination, http(s) URLs downloaded
// (with --checksum verified), as BuildKit does.
func runAdd(ctx context.Context, e *Worker, s *State, c *instructions.AddCommand, cp convert.Copy) error {
	spec := copySpec{Copy: cp}
	gits, urls, err := splitRemote(c.SourcePaths)
	if err != nil {
		return err
	}
	if c.Checksum != "" && len(urls) != 1 && len(gits) == 0 {
		return fmt.Errorf("ADD --checksum needs exactly one http(s) or git source")
	}
	if c.KeepGitDir != nil && len(gits) == 0 {
		return fmt.Errorf("ADD --keep-git-dir applies only to git sources")
	}
	var src Source
	var input string // the name of the key's input
	switch {
	case len(gits) > 0:
		if src, err = e.gitSource(ctx, s, &spec, gits, c.KeepGitDir, c.Checksum); err != nil {
			return err
		}
		input = "git"
	case len(urls) > 0:
		dl, err := e.download(ctx, urls, c.Checksum)
		if err != nil {
			return err
		}
		for i, u := range urls {
			s.record(Remote{URL: u, Digest: dl.sums[i].String()})
		}
		spec.Srcs, spec.FromContext = dl.names, false
		spec.unpack = c.Unpack != nil && *c.Unpack
		src = Source{Digest: dl.digest, Root: func(context.Context) (string, error) { return dl.dir, nil }, Release: dl.release}
		input = "urls"
	default:
		spec.unpack = c.Unpack == nil || *c.Unpack
		if src, err = e.copySource(ctx, s, "", &spec); err != nil {
			return err
		}
		input = "sources"
	}
	defer src.Release()
	ch := change{
		linked: spec.Link,
		merged: spec.Link && spec.Chmod == "",
		key: cachekey.Step{
			Op:     "add",
			Args:   append(append([]string{spec.Dest, spec.Chown, spec.Chmod, fmt.Sprint(spec.unpack)}, c.SourcePaths...), spec.Excludes...),
			Inputs: []cachekey.Input{{Name: input, Digest: src.Digest}},
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

// splitRemote returns the git and http(s) sources; mixing them with each
// other or with local paths is refused rather than half-done.
func splitRemote(srcs []string) (gits, urls []string, err error) {
	for _, s := range srcs {
		if _, isGit, err := parseGitSource(s); err != nil {
			return nil, nil, err
		} else if isGit {
			gits = append(gits, s)
			continue
		}
		if strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") {
			urls = append(urls, s)
		}
	}
	if n := len(gits) + len(urls); n > 0 && (n != len(srcs) || len(gits) > 0 && len(urls) > 0) {
		return nil, nil, fmt.Errorf("ADD mixing git, URL and local sources is not supported yet; use one ADD per kind")
	}
	return gits, urls, nil
}

// gitRoot resolves git sources to commits now (the key) and fetches them
// only when the step runs.
func (e *Worker) gitSource(ctx context.Context, s *State, spec *copySpec, srcs []string, keep *bool, checksum string) (Source, error) {
	gits, d, err := e.resolveGit(ctx, srcs, keep, checksum)
	if err != nil {
		return Source{}, err
	}
	for i, g := range gits {
		s.record(Remote{URL: srcs[i], Digest: g.commit, Git: true})
	}
	dir, err := e.Store.TempDir("git")
	if err != nil {
		return Source{}, err
	}
	spec.FromContext, spec.unpack = false, false
	root := func(ctx context.Context) (string, error) {
		paths, err := e.gitCmd().fetch(ctx, dir, gits)
		if err != nil {
			return "", err
		}
		spec.Srcs = paths
		return dir, nil
	}
	return Source{Digest: d, Root: root, Release: func() { os.RemoveAll(dir) }}, nil
}
