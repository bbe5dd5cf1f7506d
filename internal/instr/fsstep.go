package instr

import (
	"context"
	"encoding/json"

	"fmt"
	digest "github.com/opencontainers/go-digest"
	"io"
	"os"

	"github.com/kiln-build/kiln/internal/cachekey"
	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/layer"
	"github.com/kiln-build/kiln/internal/progress"
	"github.com/kiln-build/kiln/internal/snapshot"
	"github.com/kiln-build/kiln/internal/testhook"
)

// change is a filesystem-changing step: its key, how it is shown and
// recorded, and what it does to a writable mount of the stage's rootfs.
type change struct {
	key     cachekey.Step
	linked  bool   // COPY --link: runs on an empty filesystem, key without parent
	name    string // progress line, e.g. RUN npm ci
	history string // history created_by
	apply   func(ctx context.Context, m *snapshot.Mount, v *progress.Vertex) error
}

// cacheRecord is what the step cache stores for a key: the layer the step
// made, or none when it changed nothing.
type cacheRecord struct {
	Layer *image.Layer `json:"layer,omitempty"`
}

// commit answers the step from the cache or runs it, then appends its layer.
func (e *Env) commit(ctx context.Context, s *State, ch change) error {
	if !ch.linked {
		ch.key.Parent = s.Key
	}
	ch.key.Platform = s.Platform
	key := ch.key.Digest()
	v := e.Progress.Start(s.prefix() + " " + ch.name)
	defer e.recordKey(s, ch.key)
	rec, ok := e.lookup(key)
	if !ok {
		rec, ok = e.lookupRemote(key)
	}
	if ok && !e.NoCacheStages[s.Stage] {
		v.Cached()
		s.Img.AddLayer(rec.Layer, ch.history, e.Epoch)
		s.Key = key
		e.recordStep(key, rec.Layer)
		return nil
	}
	if e.ExplainCache {
		v.Logf("cache miss: %s", e.explainMiss(s, ch.key))
	}
	// The same step of several platforms' builds (a stage on
	// $BUILDPLATFORM) runs once; the others wait and share its layer.
	ran, hit := false, false // this call ran the step; found it cached after all
	res, err, shared := e.inFlight().Do(key.String(), func() (any, error) {
		ran = true
		// Another platform may have finished this step since the lookup.
		if rec, ok := e.lookup(key); ok && !e.NoCacheStages[s.Stage] {
			hit = true
			return rec.Layer, nil
		}
		base := s.Img
		if ch.linked {
			base = image.New(s.Img.Config.Platform)
		}
		l, err := e.execute(ctx, base, ch, v)
		if err != nil {
			return nil, err
		}
		return l, e.store(key, l)
	})
	if err != nil {
		v.Done(err)
		return &StepError{Stage: s.Stage, Name: ch.name, Err: err, Tail: v.Tail()}
	}
	l, _ := res.(*image.Layer)
	e.recordStep(key, l)
	switch {
	case hit:
		v.Cached()
		s.Img.AddLayer(l, ch.history, e.Epoch)
		s.Key = key
		return nil
	case shared && e.Flight != nil && ran:
		v.Logf("ran once for several targets")
	case shared && e.Flight != nil:
		v.Logf("done once by another target's identical step")
	case shared:
		v.Logf("ran once for several platforms")
	}
	v.Done(nil)
	s.Img.AddLayer(l, ch.history, e.Epoch)
	s.Key = key
	return nil
}

func (e *Env) lookup(key interface{ Encoded() string }) (cacheRecord, bool) {
	var rec cacheRecord
	if e.NoCache {
		return rec, false
	}
	data, err := e.Store.GetCache(keyDigest(key))
	if err != nil || data == nil || json.Unmarshal(data, &rec) != nil {
		return rec, false
	}
	if rec.Layer != nil && (!e.Store.HasBlob(rec.Layer.Digest) || rec.Layer.MediaType != e.Layer.MediaType()) {
		return rec, false // gone, or compressed otherwise than this build asks
	}
	return rec, true
}

// lookupRemote asks the imported caches; the layer's bytes stay remote until
// a later step or the export needs them (EnsureBlob).
func (e *Env) lookupRemote(key digest.Digest) (cacheRecord, bool) {
	if e.NoCache {
		return cacheRecord{}, false
	}
	for _, r := range e.Remote {
		if l, ok := r.Lookup(key); ok {
			return cacheRecord{Layer: l}, true
		}
	}
	return cacheRecord{}, false
}

// EnsureBlob makes sure a layer's blob is in the store, fetching it from an
// imported cache that has it.
func (e *Env) EnsureBlob(ctx context.Context, l image.Layer) error {
	if e.Store.HasBlob(l.Digest) {
		return nil
	}
	for _, r := range e.Remote {
		if r.Has(l) {
			return r.Fetch(ctx, l)
		}
	}
	return fmt.Errorf("layer %s is neither in the store nor in an imported cache", l.Digest)
}

func (e *Env) store(key interface{ Encoded() string }, l *image.Layer) error {
	data, err := json.Marshal(cacheRecord{Layer: l})
	if err != nil {
		return err
	}
	return e.Store.PutCache(keyDigest(key), data)
}

// execute mounts the image, applies the change and commits the upper dir as
// a layer: its tar goes to the blob store and the directory itself becomes
// the layer's unpacked copy, so it is never unpacked again.
func (e *Env) execute(ctx context.Context, img *image.Image, ch change, v *progress.Vertex) (*image.Layer, error) {
	work, err := e.Store.TempDir("step")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	m, err := e.MountImage(ctx, img, work)
	if err != nil {
		return nil, err
	}
	err = ch.apply(ctx, m, v)
	if uerr := UnmountImage(m); err == nil && uerr != nil {
		err = uerr
	}
	if err != nil {
		return nil, err
	}
	if empty, err := snapshot.IsEmptyDir(m.UpperDir); err != nil || empty {
		return nil, err
	}
	return e.commitUpper(ctx, m.UpperDir)
}

func (e *Env) commitUpper(ctx context.Context, upper string) (*image.Layer, error) {
	var desc layer.Descriptor
	_, _, err := e.Store.WriteBlob(func(w io.Writer) error {
		var err error
		desc, err = layer.WriteDiff(ctx, w, upper, e.Layer)
		testhook.Point(testhook.Commit) // the blob is written, not yet in place
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("writing layer: %w", err)
	}
	testhook.Point(testhook.Commit)
	if err := e.Store.CommitLayerDir(upper, desc.DiffID); err != nil {
		return nil, err
	}
	testhook.Point(testhook.Commit) // before the cache entry
	return &image.Layer{Digest: desc.Digest, DiffID: desc.DiffID, Size: desc.Size, MediaType: desc.MediaType}, nil
}

// StepError is a failed step, with the last lines of its output.
type StepError struct {
	Stage string
	Name  string
	Err   error
	Tail  []string
}

func (e *StepError) Error() string {
	return fmt.Sprintf("[%s] %s: %v", e.Stage, e.Name, e.Err)
}

func (e *StepError) Unwrap() error { return e.Err }

func (e *Env) recordStep(key digest.Digest, l *image.Layer) {
	if e.Record != nil {
		e.Record(key, l)
	}
}
