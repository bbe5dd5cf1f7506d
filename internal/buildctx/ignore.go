package buildctx

import (
	"fmt"
	"path"

	"github.com/moby/patternmatcher"
)

// ignoreMatcher compiles Ignore once, so a Context built by hand works too.
func (c *Context) ignoreMatcher() (*patternmatcher.PatternMatcher, error) {
	c.once.Do(func() {
		if len(c.Ignore) == 0 {
			return
		}
		c.matcher, c.initErr = patternmatcher.New(c.Ignore)
		if c.initErr != nil {
			c.initErr = fmt.Errorf("parsing ignore patterns: %w", c.initErr)
		}
	})
	return c.matcher, c.initErr
}

// Excluded reports whether rel (slash-separated, relative to Root) is
// ignored, with patternmatcher semantics: a path is ignored if it or a parent
// matches, "!" patterns re-include, the last matching pattern wins. The
// Dockerfile and .dockerignore are not special, as in BuildKit. The context
// root itself is never ignored.
func (c *Context) Excluded(rel string, isDir bool) bool {
	rel = path.Clean("/" + rel)[1:]
	if rel == "" {
		return false
	}
	pm, err := c.ignoreMatcher()
	if err != nil || pm == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	m, err := pm.MatchesOrParentMatches(rel)
	return err == nil && m
}

// hasExceptions reports whether a "!" pattern may re-include something
// inside an ignored directory, so walks must descend into it.
func (c *Context) hasExceptions() bool {
	pm, err := c.ignoreMatcher()
	return err == nil && pm != nil && pm.Exclusions()
}
