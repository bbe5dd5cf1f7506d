package buildctx

import (
	"context"
	"fmt"

	"github.com/kiln-build/kiln/internal/fshash"
	digest "github.com/opencontainers/go-digest"
)

// Hash returns the content digest of COPY sources in the context, with the
// ignore rules, COPY --exclude patterns and the stat cache applied. A source
// that matches nothing yields an *fshash.NotFoundError.
func (c *Context) Hash(ctx context.Context, srcs []string, excludes []string, followLinks bool) (digest.Digest, error) {
	return c.HashRecord(ctx, srcs, excludes, followLinks, nil)
}

// HashRecord is Hash that also tells record every hashed entry (see
// fshash.Options.Record).
func (c *Context) HashRecord(ctx context.Context, srcs []string, excludes []string, followLinks bool, record func(rel, summary string)) (digest.Digest, error) {
	if _, err := c.ignoreMatcher(); err != nil {
		return "", err
	}
	d, err := fshash.Paths(ctx, c.Root, srcs, fshash.Options{
		FollowLinks:     followLinks,
		Excluded:        c.Excluded,
		DescendExcluded: c.hasExceptions(),
		ExcludePatterns: excludes,
		Cache:           c.Cache,
		Owners:          c.Owners,
		Record:          record,
	})
	if err != nil {
		return "", fmt.Errorf("hashing build context: %w", err)
	}
	return d, nil
}
