package integration

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/moby/buildkit/client"
)

// --progress=rawjson is BuildKit's SolveStatus stream on stderr, as
// buildx's: every line decodes into client.SolveStatus, the steps are
// vertexes by name, a rebuild marks them cached, a RUN's output is its
// vertex's log data.
func TestProgressRawJSON(t *testing.T) {
	t.Parallel()
	requireSuite(t)
	s := suiteStore(t)
	ctx := t.TempDir()
	unique := fmt.Sprintf("%s %d", t.Name(), time.Now().UnixNano())
	writeFiles(t, ctx, map[string]string{
		"Dockerfile": "FROM busybox:test\nCOPY a.txt /a\nRUN echo ran-$(cat /a | wc -c) && echo to-stderr >&2\n",
		"a.txt":      unique,
	})
	wantLog := fmt.Sprintf("ran-%d\n", len(unique))

	first := rawjsonVertexes(t, s.MustRun(t, "build", "--progress", "rawjson", ctx).Stderr)
	run := first.byPrefix(t, "[3/3] RUN echo")
	if run.cached || !strings.Contains(run.log, wantLog) || !strings.Contains(run.log, "to-stderr\n") {
		t.Errorf("first build's RUN: cached %v, log %q; want it run, logging %q and to-stderr", run.cached, run.log, wantLog)
	}
	if cp := first.byPrefix(t, "[2/3] COPY a.txt /a"); cp.cached || !cp.completed {
		t.Errorf("first build's COPY: cached %v completed %v", cp.cached, cp.completed)
	}

	again := rawjsonVertexes(t, s.MustRun(t, "build", "--progress", "rawjson", ctx).Stderr)
	for _, name := range []string{"[2/3] COPY a.txt /a", "[3/3] RUN echo"} {
		if v := again.byPrefix(t, name); !v.cached || !v.completed || v.log != "" {
			t.Errorf("rebuild's %s: cached %v completed %v log %q; want cached with no output", name, v.cached, v.completed, v.log)
		}
	}
}

type rawVertex struct {
	name              string
	cached, completed bool
	log               string
}

type rawVertexes []*rawVertex

// rawjsonVertexes decodes a rawjson stream into its vertexes, in the order
// they started, with their final state and log data.
func rawjsonVertexes(t *testing.T, stderr string) rawVertexes {
	t.Helper()
	var out rawVertexes
	byDigest := map[string]*rawVertex{}
	for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
		var st client.SolveStatus
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&st); err != nil {
			t.Fatalf("stderr line %q is no SolveStatus: %v", line, err)
		}
		for _, v := range st.Vertexes {
			rv := byDigest[v.Digest.String()]
			if rv == nil {
				rv = &rawVertex{name: v.Name}
				byDigest[v.Digest.String()] = rv
				out = append(out, rv)
			}
			rv.cached = rv.cached || v.Cached
			rv.completed = v.Completed != nil
		}
		for _, l := range st.Logs {
			rv := byDigest[l.Vertex.String()]
			if rv == nil {
				t.Fatalf("log %q for vertex %s before the vertex", l.Data, l.Vertex)
			}
			rv.log += string(l.Data)
		}
	}
	return out
}

func (vs rawVertexes) byPrefix(t *testing.T, prefix string) *rawVertex {
	t.Helper()
	var names []string
	for _, v := range vs {
		if strings.HasPrefix(v.name, prefix) {
			return v
		}
		names = append(names, v.name)
	}
	t.Fatalf("no vertex named %q; vertexes: %q", prefix, names)
	return nil
}
