package cli

import (
	"math"
	"os"
	"runtime"
	"runtime/debug"
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

// setGCPercent collects nothing until the runtime holds firstGCAt (a
// memory limit with the collector off), then, from the first collection on,
// at gcPercent without a limit. GOGC or GOMEMLIMIT in the environment
// leave the runtime's own settings alone.
func setGCPercent() {
	_, gogc := os.LookupEnv("GOGC")
	_, limit := os.LookupEnv("GOMEMLIMIT")
	if gogc || limit {
		return
	}
	debug.SetGCPercent(-1)
	debug.SetMemoryLimit(firstGCAt)
	// The sentinel's finalizer runs after the first collection, which only
	// the limit can start.
	sentinel := new([16]byte)
	runtime.SetFinalizer(sentinel, func(*[16]byte) {
		debug.SetGCPercent(gcPercent)
		debug.SetMemoryLimit(math.MaxInt64)
	})
}
