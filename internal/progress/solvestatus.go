package progress

import (
	"fmt"
	"time"

	"github.com/opencontainers/go-digest"
)

// rawjson is BuildKit's SolveStatus stream, one object a line, as buildx's
// --progress=rawjson writes it; these types have the JSON encoding of
// github.com/moby/buildkit/client's SolveStatus, Vertex, VertexStatus,
// VertexLog and VertexWarning (the tests decode into those), without
// linking BuildKit's client into kiln.
type solveStatus struct {
	Vertexes []*solveVertex   `json:"vertexes,omitempty"`
	Statuses []*vertexStatus  `json:"statuses,omitempty"`
	Logs     []*vertexLog     `json:"logs,omitempty"`
	Warnings []*vertexWarning `json:"warnings,omitempty"`
}

type solveVertex struct {
	Digest    digest.Digest `json:"digest,omitempty"`
	Name      string        `json:"name,omitempty"`
	Started   *time.Time    `json:"started,omitempty"`
	Completed *time.Time    `json:"completed,omitempty"`
	Cached    bool          `json:"cached,omitempty"`
	Error     string        `json:"error,omitempty"`
}

type vertexStatus struct {
	ID        string        `json:"id"`
	Vertex    digest.Digest `json:"vertex,omitempty"`
	Name      string        `json:"name,omitempty"`
	Total     int64         `json:"total,omitempty"`
	Current   int64         `json:"current"`
	Timestamp time.Time     `json:"timestamp"`
	Started   *time.Time    `json:"started,omitempty"`
}

type vertexLog struct {
	Vertex    digest.Digest `json:"vertex,omitempty"`
	Stream    int           `json:"stream,omitempty"`
	Data      []byte        `json:"data"`
	Timestamp time.Time     `json:"timestamp"`
}

type vertexWarning struct {
	Vertex digest.Digest `json:"vertex,omitempty"`
	Level  int           `json:"level,omitempty"`
	Short  []byte        `json:"short,omitempty"`
}

// stdoutStream is BuildKit's stream number for a step's output; kiln
// passes a RUN's stdout and stderr as one stream.
const stdoutStream = 1

// solveStatus turns e into its SolveStatus update; false: rawjson has no
// form for it (the summary: buildx writes none either, the image's digest
// is in --metadata-file and --iidfile). Called with r.mu held.
func (r *Reporter) solveStatus(e event, now time.Time) (solveStatus, bool) {
	switch e.Type {
	case "start":
		v := r.jsonVertex(e.ID, e.Name)
		v.Started = &now
		return solveStatus{Vertexes: []*solveVertex{v.copy()}}, true
	case "cached", "done", "error":
		v := r.jsonVertex(e.ID, "")
		if v.Started == nil {
			v.Started = &now
		}
		v.Completed = &now
		v.Cached = v.Cached || e.Type == "cached"
		v.Error = r.mask(e.Error)
		return solveStatus{Vertexes: []*solveVertex{v.copy()}}, true
	case "log":
		v := r.jsonVertex(e.ID, "")
		l := &vertexLog{Vertex: v.Digest, Stream: stdoutStream, Data: []byte(r.mask(e.Data) + "\n"), Timestamp: now}
		return solveStatus{Logs: []*vertexLog{l}}, true
	case "progress":
		v := r.jsonVertex(e.ID, "")
		s := &vertexStatus{ID: string(v.Digest), Vertex: v.Digest, Name: "transferring", Current: e.Current, Total: e.Total, Timestamp: now, Started: v.Started}
		return solveStatus{Statuses: []*vertexStatus{s}}, true
	case "warning":
		return solveStatus{Warnings: []*vertexWarning{{Level: 1, Short: []byte(r.mask(e.Data))}}}, true
	case "note":
		// A note has no step; BuildKit shows such lines as a vertex of
		// their own, done at once.
		r.notes++
		name := r.mask(e.Data)
		v := &solveVertex{Digest: digest.FromString(fmt.Sprintf("kiln note %d %s", r.notes, name)), Name: name, Started: &now, Completed: &now}
		return solveStatus{Vertexes: []*solveVertex{v}}, true
	}
	return solveStatus{}, false
}

// jsonVertex is the rawjson state of step id, made on first use: BuildKit
// repeats a vertex's name and times in every update of it.
func (r *Reporter) jsonVertex(id int, name string) *solveVertex {
	if r.vertexes == nil {
		r.vertexes = map[int]*solveVertex{}
	}
	v := r.vertexes[id]
	if v == nil {
		name = r.mask(name)
		v = &solveVertex{Digest: digest.FromString(fmt.Sprintf("kiln vertex %d %s", id, name)), Name: name}
		r.vertexes[id] = v
	}
	return v
}

func (v *solveVertex) copy() *solveVertex {
	c := *v
	return &c
}
