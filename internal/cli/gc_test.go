package cli

import (
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
)

// gcSettings reads GOGC (-1: off) and the memory limit.
func gcSettings() (percent int64, limit uint64) {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}, {Name: "/gc/gomemlimit:bytes"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64()), s[1].Value.Uint64()
}

// Until the first collection the collector is off under a limit of
// firstGCAt; the first collection turns gcPercent on and sets the limit for
// the live heap. GOGC in the environment leaves the runtime alone.
func TestFirstCollectionTurnsGCPercentOn(t *testing.T) {
	oldPercent := debug.SetGCPercent(100)
	oldLimit := debug.SetMemoryLimit(math.MaxInt64)
	t.Cleanup(func() { debug.SetGCPercent(oldPercent); debug.SetMemoryLimit(oldLimit) })

	t.Setenv("GOGC", "100")
	setGCPercent()
	if percent, limit := gcSettings(); percent != 100 || limit != math.MaxInt64 {
		t.Fatalf("with GOGC set: GOGC %d, limit %d; want them untouched", percent, limit)
	}
	os.Unsetenv("GOGC") // t.Setenv restores it
	setGCPercent()
	if percent, limit := gcSettings(); percent != -1 || limit != firstGCAt {
		t.Fatalf("before the first collection: GOGC %d, limit %d; want off (-1), %d", percent, limit, firstGCAt)
	}
	var percent int64
	var limit uint64
	for range 10000 {
		runtime.GC()
		if percent, limit = gcSettings(); percent == gcPercent && limit >= memoryFloor && limit != firstGCAt {
			return
		}
		runtime.Gosched() // the finalizer runs on its own goroutine
	}
	t.Fatalf("after collections: GOGC %d, limit %d; want %d and at least %d", percent, limit, gcPercent, memoryFloor)
}

// The limit after a collection is memoryFloor for a small heap and what
// GOGC=50 allows for a large one, never less: a limit below the live heap
// would keep the collector running.
func TestLimitForLiveHeap(t *testing.T) {
	for _, c := range []struct {
		live uint64
		want int64
	}{
		{0, memoryFloor},
		{20 << 20, memoryFloor},
		{memoryFloor, memoryFloor + memoryFloor/2},
		{1 << 30, 3 << 29},
	} {
		if got := limitFor(c.live); got != c.want {
			t.Errorf("limitFor(%d) = %d, want %d", c.live, got, c.want)
		}
	}
}
