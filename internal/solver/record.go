package solver

import (
	digest "github.com/opencontainers/go-digest"

	"github.com/kiln-build/kiln/internal/image"
)

// Record is one entry of the session's step log, for --cache-to: a step's
// key and layer, or a source memo's key and content digest.
type Record struct {
	Key     digest.Digest
	Layer   *image.Layer  // a step's layer (nil: it changed nothing)
	Content digest.Digest // a source memo's content digest
}

// record adds an entry once per key.
func (s *Solver) record(r Record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.logged[r.Key] {
		return
	}
	s.logged[r.Key] = true
	s.log = append(s.log, r)
}

// Records is the step log so far, in the order the steps were solved.
func (s *Solver) Records() []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Record(nil), s.log...)
}
