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
// firstGCAt; the first collection turns gcPercent on and the limit off.
// GOGC in the environment leaves the runtime alone.
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
	for {
		runtime.GC()
		if percent, limit := gcSettings(); percent == gcPercent && limit == math.MaxInt64 {
			return
		}
		runtime.Gosched() // the finalizer runs on its own goroutine
	}
}
