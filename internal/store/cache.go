package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"

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

// isStepRecord tells the step-cache records in cache/ (named by their key)
// from the other small files kept there: stat caches, meta- records and
// --explain-cache records.
func isStepRecord(name string) bool {
	for _, p := range []string{"stat-", "meta-", "explain-"} {
		if strings.HasPrefix(name, p) {
			return false
		}
	}
	return true
}

// CacheKeys lists the keys of the step-cache records. A file kiln did not
// write may yield a key that does not validate. It only reads the store.
func (s *Store) CacheKeys() ([]digest.Digest, error) {
	entries, err := os.ReadDir(s.path(dirCache))
	if err != nil {
		return nil, fmt.Errorf("listing cache entries: %w", err)
	}
	var out []digest.Digest
	for _, e := range entries {
		if isStepRecord(e.Name()) {
			out = append(out, digest.NewDigestFromEncoded(digest.SHA256, e.Name()))
		}
	}
	return out, nil
}

// CacheMountDir is the persistent directory of a RUN --mount=type=cache id;
// created reports whether this call made it.
func (s *Store) CacheMountDir(id string) (dir string, created bool, err error) {
	d := s.CacheMountPath(id, 0)
	err = os.Mkdir(d, 0o755)
	if err == nil {
		return d, true, nil
	}
	if errors.Is(err, fs.ErrExist) {
		return d, false, nil
	}
	return "", false, fmt.Errorf("creating cache mount directory: %w", err)
}

// CacheMountPath names instance n of a cache mount id without making it:
// 0 is CacheMountDir's directory, n > 0 an extra instance that
// sharing=private made while the others were in use ("<dir>.private-<n>").
// All of them live in cachemounts/, so du counts them and prune --all
// removes them.
func (s *Store) CacheMountPath(id string, n int) string {
	name := digest.FromString(id).Encoded()[:32]
	if n > 0 {
		name += ".private-" + strconv.Itoa(n)
	}
	return s.path(dirCacheM, name)
}

// StatCachePath is where the stat cache of a build context directory lives,
// so an unchanged context is not re-read on the next build.
func (s *Store) StatCachePath(contextDir string) string {
	return s.path(dirCache, "stat-"+digest.FromString(contextDir).Encoded()[:32])
}

// ReadMeta returns a small named record of the store ("" name parts are
// not allowed), or nil if there is none.
func (s *Store) ReadMeta(name string) ([]byte, error) {
	data, err := os.ReadFile(s.path(dirCache, "meta-"+name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return data, err
}

// WriteMeta replaces a small named record atomically.
func (s *Store) WriteMeta(name string, data []byte) error {
	return s.writeFileAtomic(s.path(dirCache, "meta-"+name), data)
}
