package instr

import (
	"context"
	"fmt"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"

	"github.com/kiln-build/kiln/internal/cachekey"
	"github.com/kiln-build/kiln/internal/progress"
	"github.com/kiln-build/kiln/internal/snapshot"
)

// dispatchAdd is COPY plus ADD's extras: local tar archives are extracted
// into the destination, and http(s) URLs are downloaded (with --checksum
// verified), as BuildKit does.
func dispatchAdd(ctx context.Context, e *Env, s *State, c *instructions.AddCommand) error {
	cp := &instructions.CopyCommand{
		SourcesAndDest: c.SourcesAndDest, Chown: c.Chown, Chmod: c.Chmod, Link: c.Link,
		ExcludePatterns: c.ExcludePatterns,
	}
	spec, err := newCopySpec(s, cp)
	if err != nil {
		return err
	}
	urls, err := splitURLs(c.SourcePaths)
	if err != nil {
		return err
	}
	if c.Checksum != "" && len(urls) != 1 {
		return fmt.Errorf("ADD --checksum needs exactly one http(s) source")
	}
	var srcRoot func(context.Context) (string, error)
	var inputs cachekey.Input
	release := func() {}
	if len(urls) > 0 {
		dl, err := e.download(ctx, urls, c.Checksum)
		if err != nil {
			return err
		}
		release = dl.release
		spec.srcs, spec.fromCtx = dl.names, false
		spec.unpack = c.Unpack != nil && *c.Unpack
		srcRoot = func(context.Context) (string, error) { return dl.dir, nil }
		inputs = cachekey.Input{Name: "urls", Digest: dl.digest}
	} else {
		spec.unpack = c.Unpack == nil || *c.Unpack
		root, d, rel, err := e.copySource(ctx, s, "", spec)
		if err != nil {
			return err
		}
		srcRoot, inputs, release = root, cachekey.Input{Name: "sources", Digest: d}, rel
	}
	defer release()
	ch := change{
		linked: spec.link,
		key: cachekey.Step{
			Op:     "add",
			Args:   append(append([]string{spec.dest, spec.chown, spec.chmod, fmt.Sprint(spec.unpack)}, c.SourcePaths...), spec.excludes...),
			Inputs: []cachekey.Input{inputs},
		},
		name:    "ADD " + strings.Join(append(append([]string(nil), c.SourcePaths...), c.DestPath), " "),
		history: fileOpHistory("ADD", c.Chown, c.Chmod, c.SourcePaths, spec.dest) + " # buildkit",
		apply: func(ctx context.Context, m *snapshot.Mount, _ *progress.Vertex) error {
			root, err := srcRoot(ctx)
			if err != nil {
				return err
			}
			return copyInto(ctx, root, m.Root, spec)
		},
	}
	return e.commit(ctx, s, ch)
}

// splitURLs returns the http(s) sources; mixing them with local paths, and
// git sources, are refused rather than half-done.
func splitURLs(srcs []string) ([]string, error) {
	var urls []string
	for _, s := range srcs {
		switch {
		case strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://"):
			if strings.HasSuffix(s, ".git") || strings.Contains(s, ".git#") {
				return nil, fmt.Errorf("ADD of a git repository is not supported yet: %s", s)
			}
			urls = append(urls, s)
		case strings.HasPrefix(s, "git@"):
			return nil, fmt.Errorf("ADD of a git repository is not supported yet: %s", s)
		}
	}
	if len(urls) > 0 && len(urls) != len(srcs) {
		return nil, fmt.Errorf("ADD mixing URLs and local files is not supported yet; use two ADD instructions")
	}
	return urls, nil
}
