package store

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"syscall"
	"time"

	digest "github.com/opencontainers/go-digest"

	"github.com/kiln-build/kiln/internal/testhook"
)

// Usage is the space the store takes, by kind.
type Usage struct {
	Blobs, Layers, CacheMounts int64
	BlobCount, LayerCount      int
	CacheEntries               int
}

// DiskUsage measures the store. A file with several hard links (the layers
// kiln links rather than copies) counts once, as du counts it.
func (s *Store) DiskUsage() (Usage, error) {
	var u Usage
	var err error
	seen := map[inode]bool{}
	if u.Blobs, u.BlobCount, err = dirSize(s.path(dirBlobs), seen); err != nil {
		return u, err
	}
	if u.Layers, u.LayerCount, err = dirSize(s.path(dirLayers), seen); err != nil {
		return u, err
	}
	if u.CacheMounts, _, err = dirSize(s.path(dirCacheM), seen); err != nil {
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

type inode struct{ dev, ino uint64 }

// dirSize sums the sizes of the regular files below dir, each inode once
// (seen holds those already counted; nil: a fresh set); count is the
// number of entries at depth 1 (blobs or layer directories).
func dirSize(dir string, seen map[inode]bool) (size int64, count int, err error) {
	top, err := os.ReadDir(dir)
	if err != nil {
		return 0, 0, err
	}
	if seen == nil {
		seen = map[inode]bool{}
	}
	count = len(top)
	err = filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err != nil || !fi.Mode().IsRegular() {
			return nil
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Nlink > 1 {
			id := inode{uint64(st.Dev), st.Ino}
			if seen[id] {
				return nil
			}
			seen[id] = true
		}
		size += fi.Size()
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
//
// Everything is computed before anything is deleted, so an error (a store
// it cannot read) deletes nothing. Then blobs and layer directories go
// first and the cache records naming them last: a kill in between leaves
// records whose blobs are gone (a lookup treats them as a miss) rather than
// blobs nothing names, and the next prune finishes the job.
func (s *Store) Prune(o PruneOptions, reachable func() (map[digest.Digest]bool, error)) (PruneReport, error) {
	var r PruneReport
	keep, err := reachable()
	if err != nil {
		return r, err
	}
	records, err := s.stepRecords()
	if err != nil {
		return r, err
	}
	doomed, err := s.planCache(o, records, keep)
	if err != nil {
		return r, err
	}
	for _, rec := range records {
		if !doomed[rec.name] && rec.layer != nil {
			keep[rec.layer.Digest] = true
			keep[rec.layer.DiffID] = true
		}
	}
	blobs, layers, err := s.unkept(keep)
	if err != nil {
		return r, err
	}
	for _, b := range blobs {
		testhook.Point(testhook.Prune)
		if fi, err := os.Lstat(s.path(dirBlobs, b)); err == nil && os.Remove(s.path(dirBlobs, b)) == nil {
			r.Blobs++
			r.Freed += fi.Size()
		}
	}
	for _, l := range layers {
		testhook.Point(testhook.Prune)
		size, _, _ := dirSize(s.path(dirLayers, l), nil)
		if err := removeAll(s.path(dirLayers, l)); err != nil {
			return r, fmt.Errorf("removing layer %s: %w", l, err)
		}
		r.Layers++
		r.Freed += size
	}
	for _, rec := range records {
		if doomed[rec.name] {
			testhook.Point(testhook.Prune)
		}
		if doomed[rec.name] && os.Remove(s.path(dirCache, rec.name)) == nil {
			r.CacheEntries++
		}
	}
	if o.All {
		entries, _ := os.ReadDir(s.path(dirCacheM))
		for _, e := range entries {
			size, _, _ := dirSize(s.path(dirCacheM, e.Name()), nil)
			if removeAll(s.path(dirCacheM, e.Name())) == nil {
				r.CacheMounts++
				r.Freed += size
			}
		}
	}
	return r, nil
}

// stepRecord is what prune reads of a step-cache record.
type stepRecord struct {
	name  string
	mod   time.Time
	layer *recordLayer
}

type recordLayer struct {
	Digest digest.Digest `json:"digest"`
	DiffID digest.Digest `json:"diffID"`
}

// stepRecords reads the entries of cache/, oldest first: the step-cache
// records with the layer each names, and the other small files.
func (s *Store) stepRecords() ([]stepRecord, error) {
	entries, err := os.ReadDir(s.path(dirCache))
	if err != nil {
		return nil, err
	}
	var list []stepRecord
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		rec := stepRecord{name: e.Name(), mod: fi.ModTime()}
		if !isStepRecord(e.Name()) {
			list = append(list, rec) // stat caches and meta records age out too
			continue
		}
		if data, err := os.ReadFile(s.path(dirCache, e.Name())); err == nil {
			var body struct {
				Layer *recordLayer `json:"layer"`
			}
			if json.Unmarshal(data, &body) == nil {
				rec.layer = body.Layer
			}
		}
		list = append(list, rec)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].mod.Before(list[j].mod) })
	return list, nil
}

// planCache picks the records to remove: by age (Until), and with
// KeepStorage the oldest until what their layers free brings blobs+layers
// under the limit.
func (s *Store) planCache(o PruneOptions, records []stepRecord, keep map[digest.Digest]bool) (map[string]bool, error) {
	doomed := map[string]bool{}
	var used int64
	if o.KeepStorage > 0 {
		u, err := s.DiskUsage()
		if err != nil {
			return nil, err
		}
		used = u.Blobs + u.Layers
	}
	counted := map[digest.Digest]bool{}
	for _, rec := range records {
		if o.Until > 0 && time.Since(rec.mod) < o.Until {
			continue
		}
		if o.KeepStorage > 0 && used <= o.KeepStorage {
			break
		}
		doomed[rec.name] = true
		if o.KeepStorage > 0 && rec.layer != nil && !keep[rec.layer.Digest] && !counted[rec.layer.Digest] {
			counted[rec.layer.Digest] = true
			if fi, err := os.Lstat(s.BlobPath(rec.layer.Digest)); err == nil {
				used -= fi.Size()
			}
			if n := LayerDirName(rec.layer.DiffID); n != "" {
				size, _, _ := dirSize(s.path(dirLayers, n), nil)
				used -= size
			}
		}
	}
	return doomed, nil
}

// unkept lists the blobs and layer directories not in keep (layer
// directories are kept by DiffID).
func (s *Store) unkept(keep map[digest.Digest]bool) (blobs, layers []string, err error) {
	entries, err := os.ReadDir(s.path(dirBlobs))
	if err != nil {
		return nil, nil, err
	}
	for _, b := range entries {
		if !keep[digest.NewDigestFromEncoded(digest.SHA256, b.Name())] {
			blobs = append(blobs, b.Name())
		}
	}
	keepDirs := map[string]bool{}
	for d := range keep {
		if len(d.Encoded()) >= 16 {
			keepDirs[d.Encoded()[:16]] = true
		}
	}
	entries, err = os.ReadDir(s.path(dirLayers))
	if err != nil {
		return nil, nil, err
	}
	for _, l := range entries {
		if !keepDirs[l.Name()] {
			layers = append(layers, l.Name())
		}
	}
	return blobs, layers, nil
}
