package layer

import (
	"context"
	"io"
	"path"

	"github.com/kiln-build/kiln/internal/image"
)

// Changes say which entries of a plain tree a layer holds: a snapshotter
// that finds a step's changes by walking its tree (not an overlay upper
// dir) lists them here. Paths are clean slash paths relative to the root.
type Changes struct {
	// Write: entries written (new, replaced or changed), and the
	// directories above them, as an overlay upper dir holds them. A
	// directory's children are filtered by Write too.
	Write map[string]bool
	// Opaque: replaced directories; the layer hides what was below them.
	Opaque map[string]bool
	// Deleted: per directory, the names removed from it (whiteouts).
	Deleted map[string][]string
	// Stubs: empty directories (0755, root's) written whatever the path
	// holds, in Write too: the mount points a RUN leaves, where the tree
	// shows a builder container's own mount instead.
	Stubs map[string]bool
}

// Empty reports whether the changes hold nothing.
func (c *Changes) Empty() bool {
	return len(c.Write) == 0 && len(c.Deleted) == 0
}

// child decides how walkDir treats the entry c of directory rel.
func (c *Changes) child(rel string, ch child) (child, bool) {
	p := path.Join(rel, ch.name)
	if !c.Write[p] {
		return ch, false
	}
	ch.opaque = c.Opaque[p]
	return ch, true
}

// WriteChanges writes the listed changes of the tree at root as a layer
// blob to w: entries in Changes.Write and a whiteout for
// each deletion.
func WriteChanges(ctx context.Context, w io.Writer, root string, ch *Changes, opts Options) (image.Layer, error) {
	bw, err := newBlobWriter(w, opts)
	if err != nil {
		return image.Layer{}, err
	}
	t := newTreeWriter(ctx, bw, root, opts, false)
	t.changes = ch
	return t.finish(bw)
}
