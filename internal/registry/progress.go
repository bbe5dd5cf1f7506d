package registry

import (
	"context"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// ByteCounter is told the bytes a pull or push moves (progress.Counter).
type ByteCounter interface{ Add(n int64) }

type progressKey struct{}

// WithProgress makes Pull and Push under ctx report their transfers: they
// call newCounter once with the bytes they expect to move.
func WithProgress(ctx context.Context, newCounter func(total int64) ByteCounter) context.Context {
	return context.WithValue(ctx, progressKey{}, newCounter)
}

// counterFor returns the counter for a transfer of total bytes, or nil.
func counterFor(ctx context.Context, total int64) ByteCounter {
	if f, ok := ctx.Value(progressKey{}).(func(int64) ByteCounter); ok && total > 0 {
		return f(total)
	}
	return nil
}

// countingReader passes reads through and counts them.
type countingReader struct {
	io.ReadCloser
	c ByteCounter
}

func (r countingReader) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	r.c.Add(int64(n))
	return n, err
}

func countReads(rc io.ReadCloser, c ByteCounter) io.ReadCloser {
	if c == nil {
		return rc
	}
	return countingReader{rc, c}
}

// countingLayer counts what an upload reads of a layer.
type countingLayer struct {
	v1.Layer
	c ByteCounter
}

func (l countingLayer) Compressed() (io.ReadCloser, error) {
	rc, err := l.Layer.Compressed()
	if err != nil {
		return nil, err
	}
	return countReads(rc, l.c), nil
}
