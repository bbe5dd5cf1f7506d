// Command kilnprof is kiln with profiling hooks, for bench/profile.sh. It is
// cmd/kiln/main.go plus, when the variables are set:
//
//	KILN_CPUPROFILE=FILE   a pprof CPU profile of the whole run
//	KILN_MEMPROFILE=FILE   a pprof heap profile (allocations) at the end
//	KILN_TRACE=FILE        a runtime/trace execution trace (blocking, syscalls, GC)
//	KILN_HEAPPEAK=FILE     a pprof heap profile taken when the heap was largest
//	                       (checked every 100 ms): what is live at the peak
//
// It drives the same internal/cli as kiln, so its behaviour is kiln's; kiln
// itself is not changed.
package main

import (
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"time"

	"github.com/kiln-build/kiln/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Stderr, startProfiles()))
}

func startProfiles() (stop func()) {
	var stops []func()
	if p := os.Getenv("KILN_CPUPROFILE"); p != "" {
		f, err := os.Create(p)
		if err == nil && pprof.StartCPUProfile(f) == nil {
			stops = append(stops, func() { pprof.StopCPUProfile(); f.Close() })
		}
	}
	if p := os.Getenv("KILN_TRACE"); p != "" {
		f, err := os.Create(p)
		if err == nil && trace.Start(f) == nil {
			stops = append(stops, func() { trace.Stop(); f.Close() })
		}
	}
	if p := os.Getenv("KILN_MEMPROFILE"); p != "" {
		runtime.MemProfileRate = 64 << 10
		stops = append(stops, func() {
			if f, err := os.Create(p); err == nil {
				_ = pprof.Lookup("allocs").WriteTo(f, 0)
				f.Close()
			}
		})
	}
	if p := os.Getenv("KILN_HEAPPEAK"); p != "" {
		runtime.MemProfileRate = 64 << 10
		stops = append(stops, heapPeak(p))
	}
	return func() {
		for _, s := range stops {
			s()
		}
	}
}

// heapPeak writes a heap profile to file whenever the heap in use is
// larger than at any earlier check; the returned func stops the checks.
func heapPeak(file string) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		var peak uint64
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse <= peak {
				continue
			}
			peak = ms.HeapInuse
			if f, err := os.Create(file); err == nil {
				_ = pprof.Lookup("heap").WriteTo(f, 0)
				f.Close()
			}
		}
	}()
	return func() { close(done); <-finished }
}
