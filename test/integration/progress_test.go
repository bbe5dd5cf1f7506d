package integration

import (
	"regexp"
	"strings"
)

// step is one numbered vertex of plain progress output.
type step struct {
	name   string // "[stage-0 2/3] RUN ..."
	cached bool
	done   bool
}

var vertexLine = regexp.MustCompile(`^#(\d+) (.*)$`)

// parseSteps reads plain progress output into its vertices, in order.
func parseSteps(out string) []*step {
	byID := map[string]*step{}
	var steps []*step
	for _, line := range strings.Split(out, "\n") {
		m := vertexLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		s, ok := byID[m[1]]
		if !ok {
			s = &step{name: m[2]}
			byID[m[1]] = s
			steps = append(steps, s)
			continue
		}
		switch {
		case m[2] == "CACHED":
			s.cached = true
		case strings.HasPrefix(m[2], "DONE"):
			s.done = true
		}
	}
	return steps
}

// instruction returns the Dockerfile instruction of a step name
// ("[builder 2/6] COPY . ." → "COPY . ."), or "" for other vertices.
func (s *step) instruction() string {
	if !strings.HasPrefix(s.name, "[") {
		return ""
	}
	_, rest, ok := strings.Cut(s.name, "] ")
	if !ok {
		return ""
	}
	return rest
}

// keyword is the step's instruction keyword (RUN, COPY, FROM, ...).
func (s *step) keyword() string {
	k, _, _ := strings.Cut(s.instruction(), " ")
	return k
}
