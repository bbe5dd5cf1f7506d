// Command kilnprof is kiln with profiling hooks, for bench/profile.sh. It is
// cmd/kiln/main.go plus, when the variables are set:
//
//	KILN_CPUPROFILE=FILE   a pprof CPU profile of the whole run
//	KILN_MEMPROFILE=FILE   a pprof heap profile (allocations) at the end
//	KILN_TRACE=FILE        a runtime/trace execution trace (blocking, syscalls, GC)
//
// It drives the same internal/cli as kiln, so its behaviour is kiln's; kiln
// itself is not changed.
package main

import (
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"

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
	return func() {
		for _, s := range stops {
			s()
		}
	}
}
