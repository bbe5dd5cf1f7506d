package session

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/kiln-build/kiln/internal/progress"
	"github.com/kiln-build/kiln/internal/remotecache"
	"github.com/kiln-build/kiln/internal/snapshot"
	"github.com/kiln-build/kiln/internal/store"
)

// mountHook is the snapshotter with the remote cache's cache mounts: a
// cache mount the store lacks is restored from an imported cache before the
// first step mounts it, and the mounts the build used are remembered for a
// --cache-to with cache-mounts=true. The work is remotecache's.
type mountHook struct {
	snapshot.Snapshotter
	store *store.Store
	rep   *progress.Reporter

	mu      sync.Mutex
	sources []*remotecache.Source
	used    map[string]snapshot.CacheRequest
	tried   map[string]bool
}

func newMountHook(s snapshot.Snapshotter, st *store.Store, rep *progress.Reporter) *mountHook {
	return &mountHook{Snapshotter: s, store: st, rep: rep, used: map[string]snapshot.CacheRequest{}, tried: map[string]bool{}}
}

func (h *mountHook) addSource(src *remotecache.Source) {
	h.mu.Lock()
	h.sources = append(h.sources, src)
	h.mu.Unlock()
}

// CacheDir restores the mount once, under the hook's lock (a second step
// mounting it waits for the restore), then asks the snapshotter.
func (h *mountHook) CacheDir(ctx context.Context, r snapshot.CacheRequest) (string, func(), error) {
	h.mu.Lock()
	if _, ok := h.used[r.ID]; !ok {
		h.used[r.ID] = snapshot.CacheRequest{ID: r.ID, Mode: r.Mode, UID: r.UID, GID: r.GID}
	}
	if !h.tried[r.ID] && len(h.sources) > 0 {
		h.tried[r.ID] = true
		if err := h.restore(ctx, r.ID); err != nil {
			h.mu.Unlock()
			return "", nil, err
		}
	}
	h.mu.Unlock()
	return h.Snapshotter.CacheDir(ctx, r)
}

// restore fills a cache mount the store lacks from the imported caches,
// on a progress line when one holds it.
func (h *mountHook) restore(ctx context.Context, id string) error {
	if !remotecache.HasMount(h.sources, id) {
		return nil
	}
	v := h.rep.Start("restoring cache mount " + id + " from the imported cache")
	_, err := remotecache.RestoreMount(ctx, h.store, h.sources, id)
	v.Done(err)
	return err
}

// pack writes each cache mount the build used as a blob, each read under
// its exclusive lock (sharing=locked), and keeps the imported caches'
// other mounts (a build whose steps were cached mounts none); it fails
// when together they pass max (the carried ones count compressed).
func (h *mountHook) pack(ctx context.Context, max int64, where string) ([]remotecache.Mount, error) {
	h.mu.Lock()
	reqs := make([]snapshot.CacheRequest, 0, len(h.used))
	for _, r := range h.used {
		reqs = append(reqs, r)
	}
	h.mu.Unlock()
	sort.Slice(reqs, func(i, j int) bool { return reqs[i].ID < reqs[j].ID })
	var out []remotecache.Mount
	var total int64
	for _, r := range reqs {
		r.Sharing = snapshot.SharingLocked
		dir, release, err := h.Snapshotter.CacheDir(ctx, r)
		if err != nil {
			return nil, err
		}
		m, err := packOne(ctx, h.store, r.ID, dir, max, &total, where)
		release()
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	skip := map[string]bool{}
	for _, r := range reqs {
		skip[r.ID] = true
	}
	carried, err := remotecache.CarryMounts(ctx, h.sources, skip)
	if err != nil {
		return nil, err
	}
	for _, m := range carried {
		if total += m.Layer.Size; total > max {
			return nil, fmt.Errorf("--cache-to %s: the cache mounts hold %d bytes with %s, over cache-mounts-max-size=%d: raise it or leave out cache-mounts=true", where, total, m.ID, max)
		}
	}
	return append(out, carried...), nil
}

func packOne(ctx context.Context, st *store.Store, id, dir string, max int64, total *int64, where string) (remotecache.Mount, error) {
	n, err := remotecache.MountSize(dir)
	if err != nil {
		return remotecache.Mount{}, err
	}
	if *total += n; *total > max {
		return remotecache.Mount{}, fmt.Errorf("--cache-to %s: the cache mounts hold %d bytes (%s: %d), over cache-mounts-max-size=%d: raise it or leave out cache-mounts=true", where, *total, id, n, max)
	}
	return remotecache.PackMount(ctx, st, id, dir)
}
