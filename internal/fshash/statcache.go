package fshash

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// statKey is what must be unchanged for a cached content digest to be
// trusted. ctime matters: restoring an mtime with utimes(2) after editing a
// file still moves its ctime.
type statKey struct {
	Size    int64
	MtimeNs int64
	CtimeNs int64
	Ino     uint64
	Dev     uint64
	Mode    uint32
	UID     uint32
	GID     uint32
}

func keyOf(st *syscall.Stat_t) statKey {
	return statKey{
		Size:    st.Size,
		MtimeNs: st.Mtim.Nano(),
		CtimeNs: st.Ctim.Nano(),
		Ino:     st.Ino,
		Dev:     uint64(st.Dev),
		Mode:    st.Mode,
		UID:     st.Uid,
		GID:     st.Gid,
	}
}

// mapOwners applies Options.Owners, if set.
func (k *statKey) mapOwners(owners func(uid, gid uint32) (uint32, uint32)) {
	if owners != nil {
		k.UID, k.GID = owners(k.UID, k.GID)
	}
}

// cacheEntry holds the SHA-256 sum as its 32 bytes rather than a digest
// string: a 50,000-file context's cache is live for the whole build, and
// this is ~70 bytes less an entry.
type cacheEntry struct {
	Key     statKey
	Sum     [sha256.Size]byte
	Written int64 // unix ns when the digest was computed
	Used    int64 // unix ns of the last lookup or store
}

// StatCache maps a file's stat data to its content digest, so an unchanged
// context is not re-read. It detects changes of size, mtime, ctime, inode,
// device, mode and owner; a write that keeps all of them (possible only by
// resetting the clock) goes unseen, as it does in git. Entries whose mtime or
// ctime falls in the same second as (or after) the moment they were hashed
// are "racily clean" and always re-hashed, because a later write in that
// second might not move a coarse timestamp. Safe for concurrent use.
type StatCache struct {
	mu      sync.Mutex
	entries map[string]cacheEntry
	dirty   bool // changed since loaded: Save has something to write
}

// NewStatCache returns an empty cache.
func NewStatCache() *StatCache {
	return &StatCache{entries: map[string]cacheEntry{}}
}

func (c *StatCache) lookup(abs string, k statKey) ([sha256.Size]byte, bool) {
	if c == nil {
		return [sha256.Size]byte{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[abs]
	if !ok || e.Key != k {
		return [sha256.Size]byte{}, false
	}
	sec := e.Written / int64(time.Second)
	if k.MtimeNs/int64(time.Second) >= sec || k.CtimeNs/int64(time.Second) >= sec {
		return [sha256.Size]byte{}, false // racily clean
	}
	// Refresh the last-use time only once a day: a no-op build then
	// leaves the cache unchanged and Save writes nothing.
	if t := now().UnixNano(); t-e.Used > int64(24*time.Hour) {
		e.Used = t
		c.entries[abs] = e
		c.dirty = true
	}
	return e.Sum, true
}

func (c *StatCache) store(abs string, k statKey, sum [sha256.Size]byte, at time.Time) {
	if c == nil {
		return
	}
	e := cacheEntry{Key: k, Sum: sum, Written: at.UnixNano(), Used: at.UnixNano()}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries[abs] = e
	c.dirty = true
}

// Len reports the number of entries.
func (c *StatCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// maxUnused drops entries no build has looked at for this long, so deleted
// files do not accumulate forever.
const maxUnused = 30 * 24 * time.Hour

// LoadStatCache reads a cache saved by Save. A missing or corrupt file gives
// an empty cache: the cache only saves work, it never decides correctness.
func LoadStatCache(file string) (*StatCache, error) {
	f, err := os.Open(file)
	if errors.Is(err, os.ErrNotExist) {
		return NewStatCache(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("loading stat cache: %w", err)
	}
	defer f.Close()
	entries, err := readEntries(f)
	if err != nil {
		return NewStatCache(), nil
	}
	return &StatCache{entries: entries}, nil
}

// Save writes the cache atomically: a temporary file, fsync, rename, and an
// fsync of the directory, so a crash leaves the old or the new cache.
func (c *StatCache) Save(file string) error {
	c.mu.Lock()
	if !c.dirty {
		if _, err := os.Stat(file); err == nil {
			c.mu.Unlock()
			return nil
		}
	}
	defer c.mu.Unlock()
	c.dirty = false
	// Unused entries are dropped from the cache itself rather than from a
	// copy of it: a copy would double the cache's memory at the end of a
	// build (Save is its last use).
	cutoff := now().Add(-maxUnused).UnixNano()
	for k, e := range c.entries {
		if e.Used < cutoff {
			delete(c.entries, k)
		}
	}
	dir := filepath.Dir(file)
	tmp, err := os.CreateTemp(dir, filepath.Base(file)+".tmp-*")
	if err != nil {
		return fmt.Errorf("saving stat cache: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	err = writeEntries(tmp, c.entries)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), file)
	}
	if err != nil {
		return fmt.Errorf("saving stat cache: %w", err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	return nil
}
