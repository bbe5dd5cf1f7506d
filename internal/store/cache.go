package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	digest "github.com/opencontainers/go-digest"
)

// GetCache returns the record stored for a step cache key, or nil on a miss.
func (s *Store) GetCache(key digest.Digest) ([]byte, error) {
	data, err := os.ReadFile(s.path(dirCache, key.Encoded()))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading cache entry: %w", err)
	}
	return data, nil
}

// PutCache records a step's result. It is written last, after the blobs and
// layer directories it names, so a present entry is always usable.
func (s *Store) PutCache(key digest.Digest, record []byte) error {
	return s.writeFileAtomic(s.path(dirCache, key.Encoded()), record)
}

// CacheMountDir is the persistent directory of a RUN --mount=type=cache id.
func (s *Store) CacheMountDir(id string) (string, error) {
	d := s.path(dirCacheM, digest.FromString(id).Encoded()[:32])
	if err := os.MkdirAll(d, 0o755); err != nil {
		return "", fmt.Errorf("creating cache mount directory: %w", err)
	}
	return d, nil
}
