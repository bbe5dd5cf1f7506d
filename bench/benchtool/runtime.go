package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
)

// runLine is what bench/runtimer writes after each RUN process; builders
// prefix log lines with their own step numbers and times.
var runLine = regexp.MustCompile(`kiln-bench-run ([0-9]{10,}) ([0-9]{10,})`)

// runtime prints the seconds during which at least one RUN process ran, from
// the runtimer lines of a build log: the union of their intervals, so
// parallel stages and nested shells are not counted twice.
func runtime(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	ns, err := runNanos(f)
	if err != nil {
		return err
	}
	fmt.Printf("%.4f\n", float64(ns)/1e9)
	return nil
}

// runNanos is the length of the union of the runtimer intervals in log.
func runNanos(log io.Reader) (int64, error) {
	type span struct{ a, b int64 }
	var spans []span
	sc := bufio.NewScanner(log)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		for _, m := range runLine.FindAllStringSubmatch(sc.Text(), -1) {
			a, err1 := strconv.ParseInt(m[1], 10, 64)
			b, err2 := strconv.ParseInt(m[2], 10, 64)
			if err1 == nil && err2 == nil && b >= a {
				spans = append(spans, span{a, b})
			}
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	slices.SortFunc(spans, func(x, y span) int { return int(min(max(x.a-y.a, -1), 1)) })
	var total, end int64
	for _, s := range spans {
		if s.a > end {
			total += s.b - s.a
			end = s.b
		} else if s.b > end {
			total += s.b - end
			end = s.b
		}
	}
	return total, nil
}
