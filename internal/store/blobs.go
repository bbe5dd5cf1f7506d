package store

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	digest "github.com/opencontainers/go-digest"
)

// BlobPath is where a blob with this digest lives (it may not exist).
func (s *Store) BlobPath(d digest.Digest) string {
	return s.path(dirBlobs, d.Encoded())
}

// HasBlob reports whether the blob is present.
func (s *Store) HasBlob(d digest.Digest) bool {
	if d.Validate() != nil {
		return false
	}
	_, err := os.Stat(s.BlobPath(d))
	return err == nil
}

// OpenBlob opens a blob for reading.
func (s *Store) OpenBlob(d digest.Digest) (*os.File, error) {
	if err := d.Validate(); err != nil {
		return nil, fmt.Errorf("opening blob: %w", err)
	}
	f, err := os.Open(s.BlobPath(d))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("blob %s is not in the store", d)
	}
	return f, err
}

// ReadBlob returns a small blob's bytes (configs, manifests).
func (s *Store) ReadBlob(d digest.Digest) ([]byte, error) {
	f, err := s.OpenBlob(d)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// PutBlob stores bytes and returns their digest.
func (s *Store) PutBlob(data []byte) (digest.Digest, error) {
	d := digest.FromBytes(data)
	if s.HasBlob(d) {
		return d, nil
	}
	return d, s.writeFileAtomic(s.BlobPath(d), data)
}

// WriteBlob streams a blob produced by write into the store. The digest is
// computed while writing; the blob appears under its name only when complete.
func (s *Store) WriteBlob(write func(w io.Writer) error) (digest.Digest, int64, error) {
	f, err := os.CreateTemp(s.path(dirTmp), OwnerPrefix()+"b-")
	if err != nil {
		return "", 0, fmt.Errorf("creating temporary blob: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(f, h)}
	if err := write(cw); err != nil {
		return "", 0, err
	}
	if err := f.Sync(); err != nil {
		return "", 0, fmt.Errorf("syncing blob: %w", err)
	}
	d := digest.NewDigestFromEncoded(digest.SHA256, hex.EncodeToString(h.Sum(nil)))
	if err := os.Rename(f.Name(), s.BlobPath(d)); err != nil {
		return "", 0, fmt.Errorf("storing blob: %w", err)
	}
	return d, cw.n, syncDir(filepath.Dir(s.BlobPath(d)))
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// Blobs lists the digests of every stored blob.
func (s *Store) Blobs() ([]digest.Digest, error) {
	entries, err := os.ReadDir(s.path(dirBlobs))
	if err != nil {
		return nil, fmt.Errorf("listing blobs: %w", err)
	}
	out := make([]digest.Digest, 0, len(entries))
	for _, e := range entries {
		out = append(out, digest.NewDigestFromEncoded(digest.SHA256, e.Name()))
	}
	return out, nil
}
