// Package progress carries typed build events to a renderer: plain text
// numbered like BuildKit's (`#5 [builder 2/6] RUN make`), or nothing (quiet).
package progress

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Reporter renders events from concurrently running steps.
type Reporter struct {
	*display
	// prefix names the build, one of several sharing the display (bake's
	// targets): its step names read "[dev base 2/3] RUN …", as buildx.
	prefix string
}

// display is the output that prefixed reporters share.
type display struct {
	mu   sync.Mutex
	out  io.Writer // nil: quiet
	json bool      // rawjson: one SolveStatus per line
	// rawjson's vertexes by step id, and the notes written so far
	vertexes map[int]*solveVertex
	notes    int
	next     int
	masks    []string
	started  time.Time
	cached   int
	ran      int
	tty      *ttyState // the live view, when on a terminal
	now      func() time.Time
}

// New returns a reporter for mode "plain" (also "auto" for now: the tty view
// is not written yet) or "quiet".
func New(out io.Writer, mode string) (*Reporter, error) {
	return newWithClock(out, mode, time.Now)
}

// newWithClock is New reading the time from now (a fake clock in tests).
func newWithClock(out io.Writer, mode string, now func() time.Time) (*Reporter, error) {
	r := &Reporter{display: &display{out: out, now: now, started: now()}}
	switch mode {
	case "", "auto", "plain":
	case "tty":
		r.startTTY()
	case "quiet":
		r.out = nil
	case "rawjson":
		r.json = true
	default:
		return nil, fmt.Errorf("unknown progress mode %q (auto, tty, plain, rawjson, quiet)", mode)
	}
	return r, nil
}

// since is time.Since on the reporter's clock.
func (r *Reporter) since(t time.Time) time.Duration { return r.now().Sub(t) }

// Close ends the live view, if any; call it when the build ends.
func (r *Reporter) Close() {
	if r.prefix == "" {
		r.closeTTY()
	}
}

// Mask hides a value (a secret) wherever it would be printed.
func (r *Reporter) Mask(value string) {
	forms := maskForms(value)
	if len(forms) == 0 {
		return
	}
	r.mu.Lock()
	r.masks = append(r.masks, forms...)
	// Longest first, so a value is masked whole before any of its lines.
	sort.SliceStable(r.masks, func(i, j int) bool { return len(r.masks[i]) > len(r.masks[j]) })
	r.mu.Unlock()
}

// minMaskLine is the shortest line of a multi-line secret masked on its own:
// masking "{" or "}" of a JSON key would garble every line of output.
const minMaskLine = 4

// maskForms are the strings that stand for value in output. Output is
// split into lines before it is printed, so a value ending in a newline
// (`echo tok > f`) is never seen whole: it is masked without its line
// ending, and a value of several lines is masked line by line.
func maskForms(value string) []string {
	var forms []string
	add := func(f string) {
		if f != "" && !slices.Contains(forms, f) {
			forms = append(forms, f)
		}
	}
	add(value)
	trimmed := strings.TrimRight(value, "\r\n")
	add(trimmed)
	if strings.Contains(trimmed, "\n") {
		for _, l := range strings.Split(trimmed, "\n") {
			if l = strings.TrimSpace(l); len(l) >= minMaskLine {
				add(l)
			}
		}
	}
	return forms
}

// Vertex is one reported unit of work: a step, a pull, an export.
type Vertex struct {
	r       *Reporter
	id      int
	start   time.Time
	partial []byte
	tail    []string
	step    bool // a Dockerfile step, counted in the summary
	bytes   byteState
}

// isStep tells Dockerfile steps ("[stage 2/5] RUN …") from pulls, FROM
// lines and exports, which the summary's cached/run counts leave out.
func isStep(name string) bool {
	label, rest, ok := strings.Cut(name, "] ")
	// "[linux/arm64 internal] load metadata …" is no step, nor FROM, nor
	// the second vertex of COPY --link ("[2/3] LINK COPY …").
	return ok && strings.HasPrefix(label, "[") && !strings.HasSuffix(label, "internal") &&
		!strings.HasPrefix(rest, "FROM ") && !strings.HasPrefix(rest, "LINK ")
}

// WithPrefix returns a reporter writing to the same display with every
// step named after the build: "[dev base 2/3] RUN …", "[dev] exporting".
// Close and Finish of a prefixed reporter leave the display open.
func (r *Reporter) WithPrefix(name string) *Reporter {
	return &Reporter{display: r.display, prefix: name}
}

func (r *Reporter) prefixed(name string) string {
	if r.prefix == "" {
		return name
	}
	if rest, ok := strings.CutPrefix(name, "["); ok {
		return "[" + r.prefix + " " + rest
	}
	return "[" + r.prefix + "] " + name
}

// Start announces a step and returns its handle.
func (r *Reporter) Start(name string) *Vertex {
	name = r.prefixed(name)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.next++
	v := &Vertex{r: r, id: r.next, start: r.now(), step: isStep(name)}
	if r.event(event{Type: "start", ID: v.id, Name: name}) {
		return v
	}
	r.printf("#%d %s\n", v.id, name)
	return v
}

// printf writes with r.mu held, masking secrets.
func (r *Reporter) printf(format string, args ...any) {
	if r.out == nil {
		return
	}
	s := fmt.Sprintf(format, args...)
	for _, m := range r.masks {
		s = strings.ReplaceAll(s, m, "****")
	}
	io.WriteString(r.out, s)
}

// Warn prints a warning line.
func (r *Reporter) Warn(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.event(event{Type: "warning", Data: fmt.Sprintf(format, args...)}) {
		r.printf("WARNING: "+format+"\n", args...)
	}
}

// Write takes the step's output; complete lines are printed with the step
// number and the time since it started, and the last lines are kept for
// error messages.
func (v *Vertex) Write(p []byte) (int, error) {
	v.r.mu.Lock()
	defer v.r.mu.Unlock()
	v.partial = append(v.partial, p...)
	for {
		i := bytes.IndexByte(v.partial, '\n')
		if i < 0 {
			break
		}
		v.line(string(v.partial[:i]))
		v.partial = v.partial[i+1:]
	}
	return len(p), nil
}

const tailLines = 20

func (v *Vertex) line(s string) {
	if !v.r.event(event{Type: "log", ID: v.id, Data: s}) {
		v.r.printf("#%d %.3f %s\n", v.id, v.r.since(v.start).Seconds(), s)
	}
	for _, m := range v.r.masks {
		s = strings.ReplaceAll(s, m, "****")
	}
	v.tail = append(v.tail, s)
	if len(v.tail) > tailLines {
		v.tail = v.tail[1:]
	}
}

func (v *Vertex) flush() {
	if len(v.partial) > 0 {
		v.line(string(v.partial))
		v.partial = nil
	}
}

// Tail returns the last lines of output, secrets masked.
func (v *Vertex) Tail() []string {
	v.r.mu.Lock()
	defer v.r.mu.Unlock()
	v.flush()
	return append([]string(nil), v.tail...)
}

// Cached marks the step as answered from the cache.
func (v *Vertex) Cached() {
	v.r.mu.Lock()
	defer v.r.mu.Unlock()
	if v.step {
		v.r.cached++
	}
	if !v.r.event(event{Type: "cached", ID: v.id}) {
		v.r.printf("#%d CACHED\n", v.id)
	}
}

// Done marks the end of the step, successful or not.
func (v *Vertex) Done(err error) {
	v.r.mu.Lock()
	defer v.r.mu.Unlock()
	v.flush()
	secs := v.r.since(v.start).Seconds()
	if err != nil {
		if !v.r.event(event{Type: "error", ID: v.id, Error: err.Error(), Seconds: secs}) {
			v.r.printf("#%d ERROR: %v\n", v.id, err)
		}
		return
	}
	if v.step {
		v.r.ran++
	}
	if !v.r.event(event{Type: "done", ID: v.id, Seconds: secs}) {
		v.r.printf("#%d DONE %.1fs\n", v.id, secs)
	}
}

// Logf prints a line attributed to the step.
func (v *Vertex) Logf(format string, args ...any) {
	fmt.Fprintf(v, format+"\n", args...)
}

// Note prints an informational line (reports, summaries).
func (r *Reporter) Note(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.json {
		r.event(event{Type: "note", Data: fmt.Sprintf(format, args...)})
		return
	}
	if r.tty != nil {
		r.tty.warns = append(r.tty.warns, fmt.Sprintf(format, args...))
		return
	}
	r.printf(format+"\n", args...)
}
