package progress

import (
	"encoding/json"
	"fmt"
)

// event is one thing that happened, as the renderers take it.
type event struct {
	Type    string // start, log, progress, cached, done, error, warning, note, summary
	ID      int
	Name    string
	Data    string
	Error   string
	Seconds float64
	Current int64 // progress: bytes moved of Total
	Total   int64
	Summary *Summary
}

// event writes e as one BuildKit SolveStatus line (secrets masked) when in
// rawjson mode; it reports whether it did. Called with r.mu held.
func (r *Reporter) event(e event) bool {
	if r.ttyEvent(e) {
		return true
	}
	if !r.json || r.out == nil {
		return r.json
	}
	st, ok := r.solveStatus(e, r.now().UTC())
	if !ok {
		return true
	}
	data, err := json.Marshal(st)
	if err == nil {
		r.out.Write(append(data, '\n'))
	}
	return true
}

// Summary is the end-of-build report.
type Summary struct {
	Image   string  `json:"image,omitempty"`
	Digest  string  `json:"digest"`
	Size    int64   `json:"size"`
	Layers  int     `json:"layers"`
	Seconds float64 `json:"seconds"`
	Cached  int     `json:"cached"`
	Ran     int     `json:"ran"`
}

// Finish prints the build summary: image, digest, size, layers, time and
// cache hits.
func (r *Reporter) Finish(s Summary) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s.Seconds = r.since(r.started).Seconds()
	s.Cached, s.Ran = r.cached, r.ran
	if r.prefix != "" {
		r.finishShared(s)
		return
	}
	prefix := fmt.Sprintf("#%d DONE", r.next+1)
	if r.tty != nil {
		r.mu.Unlock()
		r.closeTTY()
		r.mu.Lock()
		prefix = " =>"
	} else if r.event(event{Type: "summary", Summary: &s}) {
		return
	}
	name := s.Image
	if name == "" {
		name = "(untagged)"
	}
	r.printf("%s %s %s, %s in %d layers, %.1fs, %d steps cached, %d run\n",
		prefix, name, s.Digest, humanSize(s.Size), s.Layers, s.Seconds, s.Cached, s.Ran)
}

func humanSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// finishShared is one build's summary on a display others still use: no
// time or cache counts, which are the display's, not this build's.
func (r *Reporter) finishShared(s Summary) {
	name := s.Image
	if name == "" {
		name = "(untagged)"
	}
	line := fmt.Sprintf("[%s] %s %s, %s in %d layers", r.prefix, name, s.Digest, humanSize(s.Size), s.Layers)
	if r.tty != nil {
		r.tty.warns = append(r.tty.warns, line)
		return
	}
	if !r.event(event{Type: "summary", Summary: &s}) {
		r.printf("%s\n", line)
	}
}
