package store

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	digest "github.com/opencontainers/go-digest"
)

// Usage is the space the store takes, by kind.
type Usage struct {
	Blobs, Layers, CacheMounts int64
	BlobCount, LayerCount      int
	CacheEntries               int
}

// DiskUsage measures the store.
func (s *Store) DiskUsage() (Usage, error) {
	var u Usage
	var err error
	if u.Blobs, u.BlobCount, err = dirSize(s.path(dirBlobs), 1); err != nil {
		return u, err
	}
	if u.Layers, u.LayerCount, err = dirSize(s.path(dirLayers), -1); err != nil {
		return u, err
	}
	if u.CacheMounts, _, err = dirSize(s.path(dirCacheM), -1); err != nil {
		return u, err
	}
	entries, err := os.ReadDir(s.path(dirCache))
	if err != nil {
		return u, err
	}
	for _, e := range entries {
		if isStepRecord(e.Name()) {
			u.CacheEntries++
		}
	}
	return u, nil
}

// dirSize sums file sizes below dir; count is the number of entries at
// depth 1 (blobs or layer directories).
func dirSize(dir string, _ int) (size int64, count int, err error) {
	top, err := os.ReadDir(dir)
	if err != nil {
		return 0, 0, err
	}
	count = len(top)
	err = filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			size += fi.Size()
		}
		return nil
	})
	return size, count, err
}

// PruneOptions choose what prune removes.
type PruneOptions struct {
	All         bool          // cache mounts too
	Until       time.Duration // keep cache entries used more recently than this (0: remove all)
	KeepStorage int64         // stop once blobs+layers are under this many bytes (0: no limit)
}

// PruneReport says what prune freed.
type PruneReport struct {
	CacheEntries, Blobs, Layers, CacheMounts int
	Freed                                    int64
}

// Prune removes step-cache entries and every blob and layer directory that
// no image name and no remaining cache entry needs. Call with the store
// locked exclusive.
func (s *Store) Prune(o PruneOptions, reachable func() (map[digest.Digest]bool, error)) (PruneReport, error) {
	var r PruneReport
	if err := s.pruneCache(o, &r); err != nil {
		return r, err
	}
	keep, err := reachable()
	if err != nil {
		return r, err
	}
	if err := s.cacheBlobs(keep); err != nil {
		return r, err
	}
	if err := s.sweep(keep, &r); err != nil {
		return r, err
	}
	if o.All {
		entries, _ := os.ReadDir(s.path(dirCacheM))
		for _, e := range entries {
			size, _, _ := dirSize(s.path(dirCacheM, e.Name()), -1)
			if removeAll(s.path(dirCacheM, e.Name())) == nil {
				r.CacheMounts++
				r.Freed += size
			}
		}
	}
	return r, nil
}

// pruneCache removes cache entries by age, oldest first, and (with
// KeepStorage) until the store is small enough.
func (s *Store) pruneCache(o PruneOptions, r *PruneReport) error {
	entries, err := os.ReadDir(s.path(dirCache))
	if err != nil {
		return err
	}
	type aged struct {
		name string
		mod  time.Time
	}
	var list []aged
	for _, e := range entries {
		if fi, err := e.Info(); err == nil {
			list = append(list, aged{e.Name(), fi.ModTime()})
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].mod.Before(list[j].mod) })
	for _, a := range list {
		if o.Until > 0 && time.Since(a.mod) < o.Until {
			continue
		}
		if o.KeepStorage > 0 {
			if u, err := s.DiskUsage(); err == nil && u.Blobs+u.Layers <= o.KeepStorage {
				break
			}
		}
		if os.Remove(s.path(dirCache, a.name)) == nil {
			r.CacheEntries++
		}
	}
	return nil
}

// cacheBlobs adds the layers named by the remaining cache entries to keep.
func (s *Store) cacheBlobs(keep map[digest.Digest]bool) error {
	entries, err := os.ReadDir(s.path(dirCache))
	if err != nil {
		return err
	}
	for _, e := range entries {
		data, err := os.ReadFile(s.path(dirCache, e.Name()))
		if err != nil || !isStepRecord(e.Name()) {
			continue
		}
		var rec struct {
			Layer *struct {
				Digest digest.Digest `json:"digest"`
				DiffID digest.Digest `json:"diffID"`
			} `json:"layer"`
		}
		if json.Unmarshal(data, &rec) == nil && rec.Layer != nil {
			keep[rec.Layer.Digest] = true
			keep[rec.Layer.DiffID] = true
		}
	}
	return nil
}

// sweep removes blobs and layer directories not in keep (layer dirs are
// kept by DiffID).
func (s *Store) sweep(keep map[digest.Digest]bool, r *PruneReport) error {
	blobs, err := os.ReadDir(s.path(dirBlobs))
	if err != nil {
		return err
	}
	for _, b := range blobs {
		if keep[digest.NewDigestFromEncoded(digest.SHA256, b.Name())] {
			continue
		}
		if fi, err := b.Info(); err == nil && os.Remove(s.path(dirBlobs, b.Name())) == nil {
			r.Blobs++
			r.Freed += fi.Size()
		}
	}
	keepDirs := map[string]bool{}
	for d := range keep {
		if len(d.Encoded()) >= 16 {
			keepDirs[d.Encoded()[:16]] = true
		}
	}
	layers, err := os.ReadDir(s.path(dirLayers))
	if err != nil {
		return err
	}
	for _, l := range layers {
		if keepDirs[l.Name()] {
			continue
		}
		size, _, _ := dirSize(s.path(dirLayers, l.Name()), -1)
		if err := removeAll(s.path(dirLayers, l.Name())); err != nil {
			return fmt.Errorf("removing layer %s: %w", l.Name(), err)
		}
		r.Layers++
		r.Freed += size
	}
	return nil
}
