package progress

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// event is one rawjson line.
type event struct {
	Type    string   `json:"type"` // start, log, progress, cached, done, error, warning, summary
	ID      int      `json:"id,omitempty"`
	Name    string   `json:"name,omitempty"`
	Data    string   `json:"data,omitempty"`
	Error   string   `json:"error,omitempty"`
	Seconds float64  `json:"seconds,omitempty"`
	Current int64    `json:"current,omitempty"` // progress: bytes moved of Total
	Total   int64    `json:"total,omitempty"`
	Time    string   `json:"time"`
	Summary *Summary `json:"summary,omitempty"`
}

// event writes e as JSON (secrets masked) when in rawjson mode; it reports
// whether it did. Called with r.mu held.
func (r *Reporter) event(e event) bool {
	if r.ttyEvent(e) {
		return true
	}
	if !r.json || r.out == nil {
		return r.json
	}
	e.Time = r.now().UTC().Format(time.RFC3339Nano)
	for _, m := range r.masks {
		e.Data = strings.ReplaceAll(e.Data, m, "****")
		e.Error = strings.ReplaceAll(e.Error, m, "****")
		e.Name = strings.ReplaceAll(e.Name, m, "****")
	}
	data, err := json.Marshal(e)
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
