package progress

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/moby/buildkit/client"
)

// decodeRawJSON reads rawjson output as buildx's consumers do: one
// BuildKit client.SolveStatus a line.
func decodeRawJSON(t *testing.T, out string) []client.SolveStatus {
	t.Helper()
	var all []client.SolveStatus
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var st client.SolveStatus
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&st); err != nil {
			t.Fatalf("line %q is no SolveStatus: %v", line, err)
		}
		all = append(all, st)
	}
	return all
}

// rawjson is BuildKit's SolveStatus stream: vertexes with names, times and
// cached flags, logs with the step's output, warnings; secrets masked in
// the decoded data, not just hidden by base64.
func TestRawJSON(t *testing.T) {
	var out bytes.Buffer
	c := newFakeClock()
	r := c.reporter(t, &out, "rawjson")
	r.Mask("s3cret")
	r.Warn("Dockerfile:2: UndefinedVar: %s", "s3cret")
	run := r.Start("[1/2] RUN echo")
	c.tickMs(300)
	run.Write([]byte("token s3cret\nbye\n"))
	run.Done(nil)
	cp := r.Start("[2/2] COPY a /a")
	cp.Cached()
	r.Finish(Summary{Digest: "sha256:x"})
	if strings.Contains(out.String(), "summary") {
		t.Errorf("rawjson wrote a summary, which SolveStatus has no field for:\n%s", out.String())
	}

	var logs []string
	vertexes := map[string]*client.Vertex{} // last update by digest
	var names []string
	var warnings []string
	for _, st := range decodeRawJSON(t, out.String()) {
		for _, v := range st.Vertexes {
			if _, seen := vertexes[v.Digest.String()]; !seen {
				names = append(names, v.Name)
			}
			vertexes[v.Digest.String()] = v
		}
		for _, l := range st.Logs {
			if vertexes[l.Vertex.String()] == nil || vertexes[l.Vertex.String()].Name != "[1/2] RUN echo" {
				t.Errorf("log %q belongs to vertex %s, not the RUN", l.Data, l.Vertex)
			}
			logs = append(logs, string(l.Data))
		}
		for _, w := range st.Warnings {
			warnings = append(warnings, string(w.Short))
		}
	}
	if strings.Join(names, "|") != "[1/2] RUN echo|[2/2] COPY a /a" {
		t.Errorf("vertex names %q", names)
	}
	if got := strings.Join(logs, ""); got != "token ****\nbye\n" {
		t.Errorf("RUN log data %q, want the output with the secret masked", got)
	}
	if len(warnings) != 1 || warnings[0] != "Dockerfile:2: UndefinedVar: ****" {
		t.Errorf("warnings %q", warnings)
	}
	for _, v := range vertexes {
		if v.Started == nil || v.Completed == nil {
			t.Errorf("vertex %q: started %v completed %v", v.Name, v.Started, v.Completed)
			continue
		}
		wantCached := v.Name == "[2/2] COPY a /a"
		if v.Cached != wantCached {
			t.Errorf("vertex %q cached = %v", v.Name, v.Cached)
		}
		if v.Name == "[1/2] RUN echo" && v.Completed.Sub(*v.Started).Milliseconds() != 300 {
			t.Errorf("RUN took %v, want 300ms", v.Completed.Sub(*v.Started))
		}
	}
}

// rawjsonText is everything rawjson carries as text, base64 decoded.
func rawjsonText(t *testing.T, out string) string {
	var b strings.Builder
	for _, st := range decodeRawJSON(t, out) {
		for _, v := range st.Vertexes {
			b.WriteString(v.Name + "\n" + v.Error + "\n")
		}
		for _, l := range st.Logs {
			b.Write(l.Data)
		}
		for _, w := range st.Warnings {
			b.Write(w.Short)
		}
	}
	return b.String()
}
