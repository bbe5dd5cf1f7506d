// Package buildctx loads a build context directory: its Dockerfile, its
// ignore rules, content digests of COPY sources, and a staged copy of the
// context for the copier.
package buildctx

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/kiln-build/kiln/internal/fshash"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// Context is a local build context.
type Context struct {
	// Root is the context directory, absolute with symlinks resolved.
	Root string
	// Dockerfile is the absolute path of the Dockerfile; it may lie outside Root.
	Dockerfile string
	// DockerfileName is the Dockerfile as the user gave it, for errors.
	DockerfileName string
	// IgnoreFile is the ignore file that was read, or "" if none.
	IgnoreFile string
	// Ignore holds the ignore patterns, in file order.
	Ignore []string
	// Cache avoids re-reading unchanged files in Hash; Load sets an empty
	// one, the caller may replace it with a persistent one.
	Cache *fshash.StatCache
	// CopyOnly makes Stage copy files even where it could hardlink them.
	CopyOnly bool
	// Owners, if set, maps file owners before Hash sees them (see
	// fshash.Options.Owners).
	Owners func(uid, gid uint32) (uint32, uint32)

	once    sync.Once
	mu      sync.Mutex // patternmatcher compiles lazily, so matching is not concurrency-safe
	matcher *patternmatcher.PatternMatcher
	initErr error
}

// Load resolves the context directory and the Dockerfile (default
// <dir>/Dockerfile; a relative -f is relative to the working directory, as
// with docker build) and reads the ignore rules: <Dockerfile>.dockerignore if
// it exists, which replaces <dir>/.dockerignore, as in BuildKit.
func Load(dir, dockerfile string) (*Context, error) {
	root, err := resolveDir(dir)
	if err != nil {
		return nil, err
	}
	c := &Context{Root: root, DockerfileName: dockerfile, Cache: fshash.NewStatCache()}
	if dockerfile == "" {
		c.DockerfileName = "Dockerfile"
		c.Dockerfile = filepath.Join(root, "Dockerfile")
	} else if c.Dockerfile, err = filepath.Abs(dockerfile); err != nil {
		return nil, fmt.Errorf("resolving Dockerfile %s: %w", dockerfile, err)
	}
	if err := checkDockerfile(c.Dockerfile, c.DockerfileName); err != nil {
		return nil, err
	}
	if err := c.loadIgnore(); err != nil {
		return nil, err
	}
	if _, err := c.ignoreMatcher(); err != nil {
		return nil, err
	}
	return c, nil
}

func resolveDir(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("resolving build context %s: %w", dir, err)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", fmt.Errorf("resolving build context: %w", err)
	}
	fi, err := os.Stat(real)
	if err != nil {
		return "", fmt.Errorf("resolving build context: %w", err)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("resolving build context: %s is not a directory", dir)
	}
	return real, nil
}

// checkDockerfile fails early, naming the file as the user wrote it, with
// the checks of the read itself (ReadDockerfile).
func checkDockerfile(abs, name string) error {
	_, err := ReadDockerfile(abs, name)
	return err
}

// LoadDir is Load for a named context (--build-context name=DIR): a
// directory with its own .dockerignore and no Dockerfile.
func LoadDir(dir string) (*Context, error) {
	root, err := resolveDir(dir)
	if err != nil {
		return nil, err
	}
	c := &Context{Root: root, Cache: fshash.NewStatCache()}
	if err := c.loadIgnore(); err != nil {
		return nil, err
	}
	if _, err := c.ignoreMatcher(); err != nil {
		return nil, err
	}
	return c, nil
}

// loadIgnore reads the first ignore file that exists, each confined to its
// directory and size-limited like the Dockerfile (BuildKit reads both
// through the same confined, bounded ReadFile).
func (c *Context) loadIgnore() error {
	type candidate struct{ dir, rel string }
	files := []candidate{{c.Root, ".dockerignore"}}
	if c.Dockerfile != "" {
		df := candidate{filepath.Dir(c.Dockerfile), filepath.Base(c.Dockerfile) + ".dockerignore"}
		files = append([]candidate{df}, files...)
	}
	for _, f := range files {
		path := filepath.Join(f.dir, f.rel)
		data, err := ReadConfined(f.dir, f.rel, path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("reading ignore file: %w", err)
		}
		patterns, err := ignorefile.ReadAll(bytes.NewReader(data))
		if err != nil {
			return fmt.Errorf("reading ignore file %s: %w", path, err)
		}
		c.IgnoreFile, c.Ignore = path, patterns
		return nil
	}
	return nil
}
