package progress

import (
	"fmt"
	"strings"
	"time"
)

// The tty view redraws, every tick, one line per step with its timer and
// the last lines of the running steps' output, as BuildKit's does; when the
// build ends it leaves the final list and the summary.

const ttyLogLines = 3

type ttyStep struct {
	id      int
	name    string
	start   time.Time
	end     time.Time
	cached  bool
	failed  bool
	running bool
	bytes   string // "12.3MiB / 40.1MiB" while a transfer runs
}

type ttyState struct {
	steps []*ttyStep
	byID  map[int]*ttyStep
	logs  map[int][]string
	drawn int // lines of the last frame, to move back over
	stop  chan struct{}
	done  chan struct{}
	warns []string
}

func (r *Reporter) startTTY() {
	r.tty = &ttyState{byID: map[int]*ttyStep{}, logs: map[int][]string{}, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(r.tty.done)
		t := time.NewTicker(150 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-r.tty.stop:
				return
			case <-t.C:
				r.mu.Lock()
				r.draw(false)
				r.mu.Unlock()
			}
		}
	}()
}

// ttyEvent records an event for the next frame; called with r.mu held.
func (r *Reporter) ttyEvent(e event) bool {
	if r.tty == nil {
		return false
	}
	t := r.tty
	switch e.Type {
	case "start":
		s := &ttyStep{id: e.ID, name: e.Name, start: r.now(), running: true}
		t.steps = append(t.steps, s)
		t.byID[e.ID] = s
	case "log":
		l := append(t.logs[e.ID], e.Data)
		if len(l) > ttyLogLines {
			l = l[len(l)-ttyLogLines:]
		}
		t.logs[e.ID] = l
	case "cached", "done", "error":
		if s := t.byID[e.ID]; s != nil {
			s.running, s.end = false, r.now()
			s.cached, s.failed = e.Type == "cached", e.Type == "error"
		}
	case "warning":
		t.warns = append(t.warns, "WARNING: "+e.Data)
	}
	return true
}

// draw writes one frame over the previous one; called with r.mu held.
func (r *Reporter) draw(final bool) {
	t := r.tty
	var b strings.Builder
	if t.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA\x1b[J", t.drawn) // up and clear to the end
	}
	finished := 0
	for _, s := range t.steps {
		if !s.running {
			finished++
		}
	}
	lines := []string{fmt.Sprintf("[+] Building %.1fs (%d/%d)%s", r.since(r.started).Seconds(), finished, len(t.steps), map[bool]string{true: " FINISHED"}[final])}
	for _, s := range t.steps {
		lines = append(lines, r.stepLine(s))
		if s.running && !final {
			for _, l := range t.logs[s.id] {
				lines = append(lines, " => => # "+truncate(l, 100))
			}
		}
	}
	for _, l := range lines {
		b.WriteString(r.mask(l) + "\n")
	}
	t.drawn = len(lines)
	r.out.Write([]byte(b.String()))
}

func (r *Reporter) stepLine(s *ttyStep) string {
	end := s.end
	if s.running {
		end = r.now()
	}
	prefix := " => "
	switch {
	case s.cached:
		prefix += "CACHED "
	case s.failed:
		prefix += "ERROR "
	}
	if s.running && s.bytes != "" {
		return fmt.Sprintf("%-52s %19s %5.1fs", truncate(prefix+s.name, 52), s.bytes, end.Sub(s.start).Seconds())
	}
	return fmt.Sprintf("%-72s %5.1fs", truncate(prefix+s.name, 72), end.Sub(s.start).Seconds())
}

// closeTTY stops redrawing and leaves the final frame and warnings.
func (r *Reporter) closeTTY() {
	if r.tty == nil {
		return
	}
	select {
	case <-r.tty.stop:
		return
	default:
	}
	close(r.tty.stop)
	<-r.tty.done
	r.mu.Lock()
	defer r.mu.Unlock()
	r.draw(true)
	for _, w := range r.tty.warns {
		fmt.Fprintf(r.out, "%s\n", r.mask(w))
	}
}

func (r *Reporter) mask(s string) string {
	for _, m := range r.masks {
		s = strings.ReplaceAll(s, m, "****")
	}
	return s
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}
