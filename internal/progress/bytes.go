package progress

import (
	"fmt"
	"time"

	"github.com/docker/go-units"
)

// Byte progress of a pull or a push: the tty view shows it on the step's
// line; plain and rawjson output report it at most once per bytesEvery, so a
// CI log gets a few lines per transfer, not one per chunk.

const bytesEvery = time.Second

type byteState struct {
	current, total int64
	reported       time.Time
}

// Bytes reports that current of total bytes have moved.
func (v *Vertex) Bytes(current, total int64) {
	v.r.mu.Lock()
	defer v.r.mu.Unlock()
	v.bytes.current, v.bytes.total = current, total
	v.reportBytes()
}

// reportBytes shows the vertex's byte count; called with r.mu held.
func (v *Vertex) reportBytes() {
	current, total := v.bytes.current, v.bytes.total
	if t := v.r.tty; t != nil {
		if s := t.byID[v.id]; s != nil {
			s.bytes = byteText(current, total)
		}
		return
	}
	now := v.r.now()
	if !v.bytes.reported.IsZero() && now.Sub(v.bytes.reported) < bytesEvery {
		return
	}
	v.bytes.reported = now
	if !v.r.event(event{Type: "progress", ID: v.id, Current: current, Total: total}) {
		v.r.printf("#%d %s %.1fs\n", v.id, byteText(current, total), now.Sub(v.start).Seconds())
	}
}

func byteText(current, total int64) string {
	if total <= 0 {
		return units.BytesSize(float64(current))
	}
	return fmt.Sprintf("%s / %s", units.BytesSize(float64(current)), units.BytesSize(float64(total)))
}

// Counter adds up the bytes of concurrent transfers for one vertex.
type Counter struct {
	v     *Vertex
	total int64
}

// NewCounter reports to v the progress towards total bytes.
func (v *Vertex) NewCounter(total int64) *Counter {
	return &Counter{v: v, total: total}
}

// Add records n more bytes moved; a nil Counter counts nothing.
func (c *Counter) Add(n int64) {
	if c == nil {
		return
	}
	c.v.r.mu.Lock()
	defer c.v.r.mu.Unlock()
	c.v.bytes.current += n
	c.v.bytes.total = c.total
	c.v.reportBytes()
}
