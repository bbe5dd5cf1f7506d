package solver

import (
	digest "github.com/opencontainers/go-digest"
)

// A source memo remembers the content digest of a selection of files in a
// filesystem that is a pure function of its key (COPY --from an image: its
// layers' diff IDs and the selection), so a rebuild, or a build that took
// the stage from a remote cache, keys the COPY without mounting the stage
// or fetching its layers.

// Source answers a memo from the store, then from the imported caches; ok
// is false when there is none or --no-cache asks not to trust stored
// results. An answer goes into the step log, so --cache-to carries it.
func (s *Solver) Source(key digest.Digest) (digest.Digest, bool) {
	if s.o.NoCache {
		return "", false
	}
	d, ok := s.storedSource(key)
	if !ok {
		for _, r := range s.remotes() {
			if d, ok = r.LookupSource(key); ok {
				break
			}
		}
	}
	if ok {
		s.record(Record{Key: key, Content: d})
	}
	return d, ok
}

func (s *Solver) storedSource(key digest.Digest) (digest.Digest, bool) {
	data, err := s.o.Store.ReadMeta("src-" + key.Encoded())
	if err != nil || data == nil {
		return "", false
	}
	d, err := digest.Parse(string(data))
	return d, err == nil
}

// RememberSource keeps a memo, and logs it for --cache-to.
func (s *Solver) RememberSource(key, content digest.Digest) {
	// Best effort: a lost memo only costs hashing again.
	_ = s.o.Store.WriteMeta("src-"+key.Encoded(), []byte(content.String()))
	s.record(Record{Key: key, Content: content})
}
