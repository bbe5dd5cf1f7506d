package instr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	digest "github.com/opencontainers/go-digest"
	fscopy "github.com/tonistiigi/fsutil/copy"

	"github.com/kiln-build/kiln/internal/cachekey"
	"github.com/kiln-build/kiln/internal/executor"
	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/snapshot"
)

// cacheOptions is a cache mount's interpreted flags.
type cacheOptions struct {
	id, sharing    string
	source         string // path mounted, inside the cache ("/" for all of it)
	mode, uid, gid uint64
	permsSet       bool // one of mode=, uid=, gid= was given, without source=
	readonly       bool
	seed           *cacheSeed
	storeID        string // the store directory's name: id, plus its base's identity
	keyOptions     []string
	keySource      digest.Digest
}

// cacheSeed is a cache mount's initial content, from= and source=.
// BuildKit makes the cache a mutable copy of the from= reference and keys
// it by id and that reference: a different from= is a different cache.
type cacheSeed struct {
	identity digest.Digest // of the base filesystem, the seeded path and any mkdir
	path     string        // copied from the base: source=, or /cache (see newCacheSeed)
	mkdir    bool          // make path with mode/uid/gid when the base lacks it
	root     func(ctx context.Context) (string, func(), error)
}

// cacheMount is RUN --mount=type=cache: a directory that persists in the
// store across builds, keyed by id (default: the target). Its content never
// enters the step's key; from= (the seed's identity) and source= do.
//
// The store keeps one directory per cache identity. BuildKit's
// (cacheRefGetter.getRefCacheDir) is the id plus the ID of the mount's base
// reference, when there is one: the from= reference; without from=, the
// "scratch with /cache" made by setCacheUIDGID when mode=, uid= or gid= is
// given (without source=); else none, the id alone. So storeID is the id,
// plus the seed's identity with from=, or plus the /cache permissions
// without it (a different mode, uid or gid is a different cache; a cache
// given none stays id-only). BuildKit mounts /cache of that base; kiln
// mounts the directory itself, made with those permissions.
func (e *Worker) cacheMount(ctx context.Context, s *State, m *instructions.Mount, target string) (*preparedMount, error) {
	o, err := e.cacheOptions(ctx, s, m, target)
	if err != nil {
		return nil, err
	}
	opts := []string{"rbind"}
	if o.readonly {
		opts = append(opts, "ro")
	}
	pm := &preparedMount{key: cachekey.Mount{Type: "cache", Target: target, Source: o.keySource, Readonly: o.readonly, Options: o.keyOptions}}
	pm.setup = func(ctx context.Context) (*executor.Mount, func(), error) {
		dir, release, err := e.Snap.CacheDir(ctx, o.request())
		if err != nil {
			return nil, nil, err
		}
		src, err := cacheSubdir(dir, o.source)
		if err != nil {
			release()
			return nil, nil, err
		}
		return &executor.Mount{Type: "bind", Source: src, Destination: target, Options: opts}, release, nil
	}
	return pm, nil
}

// cacheOptions interprets the flags as BuildKit's dispatchRunMounts does:
// the default id is the cleaned target; mode, uid and gid apply only
// without source=.
func (e *Worker) cacheOptions(ctx context.Context, s *State, m *instructions.Mount, target string) (*cacheOptions, error) {
	o := &cacheOptions{id: m.CacheID, sharing: string(m.CacheSharing), source: path.Join("/", m.Source),
		mode: 0o755, readonly: m.ReadOnly}
	if o.id == "" {
		o.id = path.Clean(target)
	}
	if o.sharing == "" {
		o.sharing = string(instructions.MountSharingShared)
	}
	if m.Mode != nil {
		o.mode = *m.Mode
	}
	if m.UID != nil {
		o.uid = *m.UID
	}
	if m.GID != nil {
		o.gid = *m.GID
	}
	o.storeID = o.id
	o.keyOptions = []string{"mode=" + strconv.FormatUint(o.mode, 8),
		"uid=" + strconv.FormatUint(o.uid, 10), "gid=" + strconv.FormatUint(o.gid, 10)}
	// With source=, BuildKit ignores mode, uid and gid (setCacheUIDGID is
	// not applied): the cache is made as without them.
	o.permsSet = (m.Mode != nil || m.UID != nil || m.GID != nil) && o.source == "/"
	if !o.permsSet {
		o.mode, o.uid, o.gid = 0o755, 0, 0
	}
	// BuildKit's checkShouldClearCacheOpts: an explicit id= or sharing= is
	// left out of the key, so renaming a cache does not rerun the step; only
	// the default form (id = target, shared) stays in it.
	if o.id == path.Clean(target) && o.sharing == "shared" {
		o.keyOptions = append(o.keyOptions, "id="+o.id, "sharing="+o.sharing)
	}
	if o.source != "/" {
		o.keyOptions = append(o.keyOptions, "source="+o.source)
	}
	if m.From == "" {
		if o.permsSet {
			o.storeID = o.id + ":" + permsIdentity(o).Encoded()
		}
		return o, nil
	}
	seed, err := e.newCacheSeed(ctx, s, m.From, o)
	if err != nil {
		return nil, err
	}
	o.seed = seed
	o.keyOptions = append(o.keyOptions, "from="+m.From)
	o.keySource = seed.identity
	o.storeID = o.id + ":" + seed.identity.Encoded()
	return o, nil
}

// permsIdentity names the base BuildKit gives a cache without from= but
// with mode=, uid= or gid=: scratch with /cache made with them (the unset
// ones default to 0755, 0 and 0, so mode=0755 alone is uid=0 alone).
func permsIdentity(o *cacheOptions) digest.Digest {
	return digest.FromString(fmt.Sprintf("mkdir /cache mode=%o uid=%d gid=%d", o.mode, o.uid, o.gid))
}

// newCacheSeed resolves from= now, so the step's key can name it. Like
// BuildKit, mode=, uid= or gid= without source= make the cache the base's
// /cache directory (created with them if the base lacks one) instead of its
// root. Only the seeded path is copied, not the whole base.
func (e *Worker) newCacheSeed(ctx context.Context, s *State, from string, o *cacheOptions) (*cacheSeed, error) {
	seed := &cacheSeed{path: o.source}
	if o.source == "/" && o.permsSet {
		seed.path, seed.mkdir = "/cache", true
	}
	o.source = "/" // the cache holds only the seeded path: mount all of it
	src, err := s.From(ctx, from)
	if err != nil {
		return nil, err
	}
	id := struct {
		Layers []digest.Digest `json:"layers,omitempty"`
		Dir    digest.Digest   `json:"dir,omitempty"`
		Path   string          `json:"path"`
		Mkdir  []uint64        `json:"mkdir,omitempty"`
	}{Path: seed.path}
	if seed.mkdir {
		id.Mkdir = []uint64{o.mode, o.uid, o.gid}
	}
	if src.Local != nil {
		if id.Dir, err = src.Local.Context.Hash(ctx, []string{seed.path}, nil, true); err != nil && !seed.mkdir {
			return nil, fmt.Errorf("--mount=type=cache from=%s: %w", from, err)
		}
		seed.root = func(ctx context.Context) (string, func(), error) {
			dir, err := src.Local.View(ctx)
			return dir, func() {}, err
		}
	} else {
		id.Layers = layerIDs(src.Image)
		img := src.Image
		seed.root = func(ctx context.Context) (string, func(), error) {
			v, err := e.Snap.View(ctx, img.Layers)
			if err != nil {
				return "", nil, err
			}
			return v.Root, func() { v.Close() }, nil
		}
	}
	data, err := json.Marshal(id)
	if err != nil {
		return nil, err
	}
	seed.identity = digest.FromBytes(data)
	return seed, nil
}

// layerIDs names an image's filesystem: its layers' diff IDs, bottom first
// (BuildKit keys the cache by the from= reference's snapshot).
func layerIDs(img *image.Image) []digest.Digest {
	ids := make([]digest.Digest, 0, len(img.Layers))
	for _, l := range img.Layers {
		ids = append(ids, l.DiffID)
	}
	return ids
}

// request is what the snapshotter needs to find the cache's directory.
func (o *cacheOptions) request() snapshot.CacheRequest {
	r := snapshot.CacheRequest{ID: o.storeID, Sharing: o.sharing, Mode: os.FileMode(o.mode), UID: int(o.uid), GID: int(o.gid)}
	if seed := o.seed; seed != nil {
		r.Seed = func(ctx context.Context, dst string) error {
			if err := seed.copyTo(ctx, dst, o); err != nil {
				return fmt.Errorf("seeding cache mount from %s: %w", seed.path, err)
			}
			return nil
		}
	}
	return r
}

// initCacheDir gives a new directory a cache's mode and owner.
func initCacheDir(dir string, o *cacheOptions) error {
	if err := os.Chmod(dir, os.FileMode(o.mode)); err != nil {
		return err
	}
	return os.Chown(dir, int(o.uid), int(o.gid))
}

// copyTo copies the seed's path of its base to dst, a new name.
func (seed *cacheSeed) copyTo(ctx context.Context, dst string, o *cacheOptions) error {
	root, release, err := seed.root(ctx)
	if err != nil {
		return err
	}
	defer release()
	src, err := securejoin.SecureJoin(root, seed.path)
	if err != nil {
		return err
	}
	fi, err := os.Stat(src)
	switch {
	case seed.mkdir && errors.Is(err, fs.ErrNotExist):
		if err := os.Mkdir(dst, 0o700); err != nil {
			return err
		}
		return initCacheDir(dst, o)
	case err != nil:
		return err
	case !fi.IsDir():
		return fmt.Errorf("%s is not a directory", seed.path)
	}
	return fscopy.Copy(ctx, src, "/", filepath.Dir(dst), filepath.Base(dst))
}

// cacheSubdir is source= inside the cache: it must exist (BuildKit mounts
// a sub-path of the cache and fails when there is none).
func cacheSubdir(dir, source string) (string, error) {
	if source == "/" {
		return dir, nil
	}
	src, err := securejoin.SecureJoin(dir, source)
	if err != nil {
		return "", err
	}
	fi, err := os.Stat(src)
	if err != nil {
		return "", fmt.Errorf("--mount=type=cache source=%s: %w", source, errors.Unwrap(err))
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("--mount=type=cache source=%s: not a directory", source)
	}
	return src, nil
}
