package main

import (
	"strings"
	"testing"
)

func TestRunNanosIsTheUnionOfTheIntervals(t *testing.T) {
	for _, c := range []struct {
		name, log string
		want      int64
	}{
		{"none", "#1 [stage 1/2] FROM x\n#1 DONE 0.1s\n", 0},
		{"one, with a builder's prefix", "#5 0.164 kiln-bench-run 1000000000000 1000000000500\n", 500},
		{"disjoint", "kiln-bench-run 1000000000000 1000000000100\nkiln-bench-run 1000000000200 1000000000300\n", 200},
		// Parallel stages: [0,100] and [50,150] overlap, [120,130] is inside.
		{"overlapping and nested, out of order",
			"kiln-bench-run 1000000000050 1000000000150\nx kiln-bench-run 1000000000000 1000000000100\nkiln-bench-run 1000000000120 1000000000130\n", 150},
		{"malformed lines ignored", "kiln-bench-run 12 34\nkiln-bench-run 1000000000100 1000000000000\n", 0},
	} {
		got, err := runNanos(strings.NewReader(c.log))
		if err != nil || got != c.want {
			t.Errorf("%s: runNanos = %d, %v; want %d", c.name, got, err, c.want)
		}
	}
}
