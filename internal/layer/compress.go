package layer

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/klauspost/pgzip"
	"github.com/opencontainers/go-digest"

	"github.com/kiln-build/kiln/internal/image"
)

// chunkSize fixes the size of the writes the compressor sees, so its output
// cannot depend on how the tar writer happened to split its writes.
const chunkSize = 64 << 10

// blobWriter compresses a tar stream and hashes both sides in one pass.
type blobWriter struct {
	buf       *bufio.Writer
	comp      io.WriteCloser // nil when uncompressed
	diffID    digest.Digester
	blob      digest.Digester
	size      countWriter
	mediaType string
}

func newBlobWriter(w io.Writer, opts Options) (*blobWriter, error) {
	mt, err := opts.mediaType()
	if err != nil {
		return nil, err
	}
	b := &blobWriter{diffID: digest.SHA256.Digester(), blob: digest.SHA256.Digester(), mediaType: mt}
	out := io.MultiWriter(w, b.blob.Hash(), &b.size)
	switch opts.Compression {
	case Zstd:
		b.comp, err = newZstd(out, opts.Level)
	case Uncompressed:
		b.buf = bufio.NewWriterSize(io.MultiWriter(b.diffID.Hash(), out), chunkSize)
		return b, nil
	default:
		b.comp, err = newGzip(out, opts.Level)
	}
	if err != nil {
		return nil, err
	}
	b.buf = bufio.NewWriterSize(io.MultiWriter(b.diffID.Hash(), b.comp), chunkSize)
	return b, nil
}

// gzipBlockSize is part of the output format: changing it changes digests.
const gzipBlockSize = 1 << 20

func newGzip(w io.Writer, level int) (io.WriteCloser, error) {
	if level == 0 {
		level = gzip.DefaultCompression
	} else if level < 1 || level > 9 {
		return nil, fmt.Errorf("invalid gzip level %d: want 1-9", level)
	}
	// pgzip compresses fixed-size blocks on every core; its output depends
	// on the block size and level only, never on how many run at once
	// (checked by TestGzipIndependentOfConcurrency), so blobs stay
	// reproducible across machines.
	zw, err := pgzip.NewWriterLevel(w, level)
	if err != nil {
		return nil, fmt.Errorf("creating gzip writer: %w", err)
	}
	// pgzip compresses one block more than it queues (the one its writer
	// waits on), so GOMAXPROCS-1 queued blocks keep every core busy; each
	// block in flight holds three 1 MiB buffers.
	if err := zw.SetConcurrency(gzipBlockSize, max(runtime.GOMAXPROCS(0)-1, 1)); err != nil {
		return nil, err
	}
	// The zero header is already deterministic; set it anyway so a library
	// default change cannot leak into blobs.
	zw.Header = pgzip.Header{OS: 255}
	return zw, nil
}

func newZstd(w io.Writer, level int) (io.WriteCloser, error) {
	l := zstd.SpeedDefault
	if level < 0 || level > 22 {
		return nil, fmt.Errorf("invalid zstd level %d: want 1-22", level)
	} else if level > 0 {
		l = zstd.EncoderLevelFromZstd(level)
	}
	zw, err := zstd.NewWriter(w,
		zstd.WithEncoderLevel(l),
		zstd.WithEncoderConcurrency(1), // async and concurrent blocks depend on cores
		zstd.WithConcurrentBlocks(false),
		zstd.WithEncoderCRC(true))
	if err != nil {
		return nil, fmt.Errorf("creating zstd writer: %w", err)
	}
	return zw, nil
}

func (b *blobWriter) Write(p []byte) (int, error) { return b.buf.Write(p) }

// finish flushes everything and describes the blob.
func (b *blobWriter) finish() (image.Layer, error) {
	if err := b.buf.Flush(); err != nil {
		return image.Layer{}, fmt.Errorf("flushing layer: %w", err)
	}
	if b.comp != nil {
		if err := b.comp.Close(); err != nil {
			return image.Layer{}, fmt.Errorf("closing compressor: %w", err)
		}
	}
	return image.Layer{
		Digest:    b.blob.Digest(),
		DiffID:    b.diffID.Digest(),
		Size:      b.size.n,
		MediaType: b.mediaType,
	}, nil
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

var (
	gzipMagic = []byte{0x1f, 0x8b}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// decompress detects the blob's compression by its magic bytes and returns
// the uncompressed stream and a function releasing the decoder.
func decompress(r io.Reader) (io.Reader, func(), error) {
	br := bufio.NewReader(r)
	head, err := br.Peek(4)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, nil, fmt.Errorf("reading layer header: %w", err)
	}
	switch {
	case bytes.HasPrefix(head, gzipMagic):
		// pgzip decompresses ahead in its own goroutine, so inflating
		// overlaps with hashing and writing the files.
		zr, err := pgzip.NewReaderN(br, 1<<20, 4)
		if err != nil {
			return nil, nil, fmt.Errorf("opening gzip layer: %w", err)
		}
		return zr, func() { _ = zr.Close() }, nil
	case bytes.HasPrefix(head, zstdMagic):
		zr, err := zstd.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("opening zstd layer: %w", err)
		}
		return zr, zr.Close, nil
	}
	return br, func() {}, nil
}
