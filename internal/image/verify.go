package image

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"

	digest "github.com/opencontainers/go-digest"

	"github.com/kiln-build/kiln/internal/store"
	"github.com/kiln-build/kiln/internal/testhook"
)

// Problem is one finding of Verify.
type Problem struct {
	// Warning marks what builds are not harmed by: a step-cache record
	// whose layer blob is gone (lookups treat it as a miss) and an
	// unpacked layer directory nothing names (nothing reads it; prune
	// removes it, and a build killed between unpacking a layer and
	// recording it leaves one). Everything else is an error: content that
	// does not match its digest, an image that lacks a blob, a record
	// kiln could not have written.
	Warning bool
	Text    string
}

func (p Problem) String() string {
	if p.Warning {
		return "warning: " + p.Text
	}
	return p.Text
}

// Verify checks the store and returns one Problem per finding: that every
// blob matches its digest, that every named image (and every index and
// manifest below it) has all its blobs, that every step-cache record
// decodes and names a layer blob that is present, matches its digest and
// has the recorded size, and that every unpacked layer directory l/<id>
// belongs to a DiffID named by an image config or a cache record. It only
// reads the store.
func Verify(s *store.Store) ([]Problem, error) {
	v := &verifier{s: s, blobs: map[digest.Digest]blobState{}, diffIDs: map[string]bool{}}
	if err := v.blobsMatch(); err != nil {
		return nil, err
	}
	if err := v.images(); err != nil {
		return nil, err
	}
	if err := v.cacheRecords(); err != nil {
		return nil, err
	}
	if err := v.layerDirs(); err != nil {
		return nil, err
	}
	return v.problems, nil
}

type blobState struct {
	ok   bool // present and matching its digest
	size int64
}

type verifier struct {
	s        *store.Store
	blobs    map[digest.Digest]blobState
	diffIDs  map[string]bool // names under l/ of the DiffIDs something names
	problems []Problem
}

func (v *verifier) errorf(format string, args ...any) {
	v.problems = append(v.problems, Problem{Text: fmt.Sprintf(format, args...)})
}

func (v *verifier) warnf(format string, args ...any) {
	v.problems = append(v.problems, Problem{Warning: true, Text: fmt.Sprintf(format, args...)})
}

// maxConfig bounds the blobs read whole to look for an image config.
const maxConfig = 1 << 20

// blobsMatch hashes every blob, and collects the DiffIDs of those that are
// image configs.
func (v *verifier) blobsMatch() error {
	blobs, err := v.s.Blobs()
	if err != nil {
		return err
	}
	for _, d := range blobs {
		testhook.Point(testhook.Store)
		if d.Validate() != nil {
			v.errorf("blob %s: not named by a sha256 digest", d.Encoded())
			continue
		}
		st := v.check(d)
		if !st.ok {
			v.errorf("blob %s: content does not match its digest", d)
		}
	}
	return nil
}

// check hashes a blob once; an absent blob is not ok.
func (v *verifier) check(d digest.Digest) blobState {
	if st, ok := v.blobs[d]; ok {
		return st
	}
	f, err := v.s.OpenBlob(d)
	if err != nil {
		return blobState{}
	}
	defer f.Close()
	h := sha256.New()
	var head bytes.Buffer
	n, err := io.Copy(io.MultiWriter(h, &limitBuffer{&head, maxConfig + 1}), f)
	if err != nil {
		v.blobs[d] = blobState{size: n}
		return v.blobs[d]
	}
	st := blobState{ok: digest.NewDigestFromEncoded(digest.SHA256, hex.EncodeToString(h.Sum(nil))) == d, size: n}
	v.blobs[d] = st
	if n <= maxConfig {
		var cfg struct {
			RootFS struct {
				DiffIDs []digest.Digest `json:"diff_ids"`
			} `json:"rootfs"`
		}
		if json.Unmarshal(head.Bytes(), &cfg) == nil {
			for _, id := range cfg.RootFS.DiffIDs {
				v.knowDiffID(id)
			}
		}
	}
	return st
}

func (v *verifier) knowDiffID(id digest.Digest) {
	if n := store.LayerDirName(id); n != "" {
		v.diffIDs[n] = true
	}
}

// images checks that each named image has every blob it reaches.
func (v *verifier) images() error {
	refs, err := v.s.Refs()
	if err != nil {
		return err
	}
	for _, r := range refs {
		blobs, err := reachable(v.s, []Named{{Descriptor: r.Descriptor}})
		if err != nil {
			v.errorf("image %s: %v", store.FamiliarName(r.Name), err)
			continue
		}
		for _, b := range blobs {
			if !v.s.HasBlob(b) {
				v.errorf("image %s: blob %s is missing", store.FamiliarName(r.Name), b)
			}
		}
	}
	return nil
}

// cacheRecord is the part of a step-cache record (instr's cacheRecord)
// verify reads.
type cacheRecord struct {
	Layer *Layer `json:"layer"`
}

// cacheRecords checks every step-cache record. Records are written
// atomically and after what they name, so one that does not decode, or
// names a blob that is not what it says, was not written by kiln: an error.
// One whose blob is missing is a warning: a lookup treats it as a miss.
func (v *verifier) cacheRecords() error {
	keys, err := v.s.CacheKeys()
	if err != nil {
		return err
	}
	for _, k := range keys {
		if k.Validate() != nil {
			v.warnf("cache/%s: not a step-cache record (builds ignore it)", k.Encoded())
			continue
		}
		data, err := v.s.GetCache(k)
		if err != nil {
			v.errorf("cache record %s: %v", k.Encoded(), err)
			continue
		}
		if data == nil {
			continue // removed meanwhile
		}
		var rec cacheRecord
		if err := json.Unmarshal(data, &rec); err != nil {
			v.errorf("cache record %s: cannot be decoded (builds treat it as a miss): %v", k.Encoded(), err)
			continue
		}
		l := rec.Layer
		if l == nil {
			continue // the step changed nothing
		}
		if l.Digest.Validate() != nil || l.DiffID.Validate() != nil {
			v.errorf("cache record %s: names an invalid layer digest %q or diff ID %q", k.Encoded(), l.Digest, l.DiffID)
			continue
		}
		v.knowDiffID(l.DiffID)
		if !v.s.HasBlob(l.Digest) {
			v.warnf("cache record %s: layer blob %s is missing (builds treat the record as a miss)", k.Encoded(), l.Digest)
			continue
		}
		switch st := v.check(l.Digest); {
		case !st.ok:
			v.errorf("cache record %s: layer blob %s does not match its digest, and builds would reuse it", k.Encoded(), l.Digest)
		case st.size != l.Size:
			v.errorf("cache record %s: layer blob %s has %d bytes, the record says %d", k.Encoded(), l.Digest, st.size, l.Size)
		}
	}
	return nil
}

// layerDirs reports unpacked layers that no config or cache record names.
// They are a warning: nothing reads them (layers are found by DiffID) and
// prune removes them; a build killed after unpacking or committing a layer
// but before recording it leaves one behind.
func (v *verifier) layerDirs() error {
	names, err := v.s.LayerDirs()
	if err != nil {
		return err
	}
	for _, n := range names {
		if !v.diffIDs[n] {
			v.warnf("layer directory l/%s: no image config or cache record names its diff ID (orphaned; kiln prune removes it)", n)
		}
	}
	return nil
}

// limitBuffer keeps the first max bytes written to it and discards the rest.
type limitBuffer struct {
	b   *bytes.Buffer
	max int
}

func (l *limitBuffer) Write(p []byte) (int, error) {
	if room := l.max - l.b.Len(); room > 0 {
		if len(p) < room {
			room = len(p)
		}
		l.b.Write(p[:room])
	}
	return len(p), nil
}
