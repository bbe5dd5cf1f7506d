// Command runtimer stands in for /bin/sh in the images bench/run.sh builds
// from, so the time a RUN step's own process takes can be told apart from
// what the builder spends around it, the same way for every builder.
//
// It runs /bin/busybox as sh with its arguments, waits, and writes one line
//
//	kiln-bench-run START_NS END_NS
//
// (wall clock, nanoseconds since the epoch) to stderr, which every builder
// shows in its build log; bench/benchtool adds up the union of those
// intervals. Shells that a RUN starts below the first one (npm scripts, sh
// -c) find KILN_BENCH_RUN set and become plain busybox sh without a line.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

const busybox = "/bin/busybox"

func main() {
	args := append([]string{"sh"}, os.Args[1:]...)
	if os.Getenv("KILN_BENCH_RUN") != "" {
		err := syscall.Exec(busybox, args, os.Environ())
		fmt.Fprintln(os.Stderr, "runtimer:", err)
		os.Exit(127)
	}
	start := time.Now()
	cmd := &exec.Cmd{Path: busybox, Args: args, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		Env: append(os.Environ(), "KILN_BENCH_RUN=1")}
	err := cmd.Run()
	end := time.Now()
	fmt.Fprintf(os.Stderr, "kiln-bench-run %d %d\n", start.UnixNano(), end.UnixNano())
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		os.Exit(exit.ExitCode())
	case err != nil:
		fmt.Fprintln(os.Stderr, "runtimer:", err)
		os.Exit(127)
	}
}
