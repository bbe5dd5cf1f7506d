package registry

import (
	"context"
	"sync"
	"testing"

	"github.com/kiln-build/kiln/internal/image"
)

// sumCounter records what a transfer reported.
type sumCounter struct {
	mu           sync.Mutex
	totals, sent int64
}

func (c *sumCounter) Add(n int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent += n
}

func (c *sumCounter) ctx() context.Context {
	return WithProgress(context.Background(), func(total int64) ByteCounter {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.totals += total
		return c
	})
}

// A push and a pull report every byte of the blobs they move, against the
// total they announced.
func TestTransfersReportBytes(t *testing.T) {
	reg := newTestRegistry(t, nil)
	s := newStore(t)
	desc := commitImage(t, s, linuxAmd64, 3)
	img, _, err := image.Load(s, desc, linuxAmd64)
	if err != nil {
		t.Fatal(err)
	}
	var layers int64
	for _, l := range img.Layers {
		layers += l.Size
	}

	var push sumCounter
	if err := New(nil).Push(push.ctx(), s, desc, reg.host+"/p/img:1"); err != nil {
		t.Fatal(err)
	}
	if push.sent < layers || push.sent != push.totals {
		t.Errorf("push reported %d of %d bytes, want all of them (layers alone are %d)", push.sent, push.totals, layers)
	}

	var pull sumCounter
	if _, err := New(nil).Pull(pull.ctx(), newStore(t), reg.host+"/p/img:1", linuxAmd64); err != nil {
		t.Fatal(err)
	}
	if pull.sent < layers || pull.sent != pull.totals {
		t.Errorf("pull reported %d of %d bytes, want all of them (layers alone are %d)", pull.sent, pull.totals, layers)
	}
}
