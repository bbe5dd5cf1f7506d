// Package testhook lets crash tests stop kiln at a chosen point of a build
// so they can SIGKILL it exactly there.
//
// KILN_TEST_KILLPOINT=<phase>:<n> makes the n-th call of Point(phase)
// append "<phase> <n>" to the file KILN_TEST_KILLPOINT_FILE and then block
// forever. KILN_TEST_KILLPOINT=trace records every call ("<phase> <count>")
// and never blocks, so a test can count a build's points first. Without the
// variable Point is one comparison: the environment is read once, at start.
package testhook

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The phases a build passes through, in order.
const (
	Pull   = "pull"   // fetching manifests and blobs, tagging the base image
	Unpack = "unpack" // extracting layer blobs into layer directories
	Run    = "run"    // RUN containers
	Commit = "commit" // a step's layer blob, layer directory and cache entry
	Export = "export" // the image's config, manifest and refs, the output file
	Prune  = "prune"  // kiln prune, between two deletions
	Store  = "store"  // tag, rmi, push, save, verify: between their writes, uploads or checks
)

var want = parse(os.Getenv("KILN_TEST_KILLPOINT"))

type spec struct {
	phase string // "" when off
	n     int    // 0 traces every point
}

func parse(v string) spec {
	if v == "trace" {
		return spec{phase: "*"}
	}
	phase, num, ok := strings.Cut(v, ":")
	n, err := strconv.Atoi(num)
	if !ok || err != nil || n < 1 {
		return spec{}
	}
	return spec{phase: phase, n: n}
}

var (
	mu     sync.Mutex
	counts = map[string]int{}
)

// Point marks a moment of phase at which a test may kill kiln.
func Point(phase string) {
	if want.phase == "" || (want.phase != phase && want.phase != "*") {
		return
	}
	mu.Lock()
	counts[phase]++
	c := counts[phase]
	if want.n == 0 {
		mark(phase, c)
	}
	mu.Unlock()
	if c != want.n {
		return
	}
	mark(phase, c)
	for {
		time.Sleep(time.Hour) // a timer, so the runtime never reports a deadlock
	}
}

// mark appends "phase count" to the marker file, synced so that the test
// reads it before it kills.
func mark(phase string, c int) {
	f, err := os.OpenFile(os.Getenv("KILN_TEST_KILLPOINT_FILE"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return
	}
	fmt.Fprintf(f, "%s %d\n", phase, c)
	f.Sync()
	f.Close()
}
