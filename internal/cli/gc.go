package cli

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
)

// gcPercent is kiln's GC target, GOGC=50 unless GOGC is set. What stays
// live in a build is small and long-lived (the stat cache, compressor
// blocks) and its garbage is per-file metadata, so Go's default (the heap
// may double the live heap before a collection) only makes the peak
// larger: a cold COPY of 50,000 files peaked at 89-115 MiB with it and at
// 66-68 MiB with 50, in about the same time.
const gcPercent = 50

// firstGCAt is how much memory the Go runtime may hold before kiln's first
// collection. With GOGC=50 a no-op rebuild ran two collections and a
// one-line edit four, from a 2 MiB heap on: a few milliseconds of a 20 ms
// run, and nothing a collection frees matters to a process that exits.
// Builds that grow past it collect as gcPercent says from then on.
const firstGCAt = 32 << 20

// memoryFloor is the least memory limit set after the first collection.
// A limit, unlike GOGC, also makes the runtime return freed pages to the
// kernel at once, and those pages were the rest of the peak: the same
// 50,000-file COPY peaked at 62-65 MiB with GOGC=50 alone and at 54 MiB
// with a 40 MiB limit beside it.
const memoryFloor = 40 << 20

// limitFor is the memory limit after a collection that left live bytes:
// at least memoryFloor, and never below what GOGC=50 lets the heap reach,
// so a large live heap cannot make the collector run back to back.
func limitFor(live uint64) int64 {
	return max(memoryFloor, int64(live+live/2))
}

// setGCPercent collects nothing until the runtime holds firstGCAt (a
// memory limit with the collector off), then, from the first collection on,
// at gcPercent under limitFor the live heap, set again after every
// collection. GOGC or GOMEMLIMIT in the environment leave the runtime's own
// settings alone.
func setGCPercent() {
	_, gogc := os.LookupEnv("GOGC")
	_, limit := os.LookupEnv("GOMEMLIMIT")
	if gogc || limit {
		return
	}
	debug.SetGCPercent(-1)
	debug.SetMemoryLimit(firstGCAt)
	afterNextGC(func() {
		debug.SetGCPercent(gcPercent)
		retune()
	})
}

// retune sets the limit for the heap the last collection left, and again
// after every later one.
func retune() {
	debug.SetMemoryLimit(limitFor(liveHeap()))
	afterNextGC(retune)
}

// afterNextGC runs f after the next collection: a sentinel's finalizer runs
// once a collection has found the sentinel unreachable.
func afterNextGC(f func()) {
	sentinel := new([16]byte)
	runtime.SetFinalizer(sentinel, func(*[16]byte) { f() })
}

// liveHeap is the heap the last collection found live.
func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}
