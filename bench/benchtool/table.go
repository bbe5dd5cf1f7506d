package main

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
)

// tools are the builders in the order of the table's columns; ratios are
// kiln's time over each of the others'.
var tools = []string{"kiln", "buildkit", "buildah"}

type row struct {
	id, label       string
	rss, mbps, over bool
	div             float64
}

type meas struct {
	run     int
	secs    float64
	rssKB   float64
	bytes   float64
	runSecs float64 // NaN: not measured
}

type results struct {
	rows  []*row
	data  map[string]map[string][]meas   // row → tool → runs
	fails map[string]map[string][]string // row → tool → reasons
}

func readResults(path string) (*results, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	res := &results{data: map[string]map[string][]meas{}, fails: map[string]map[string][]string{}}
	byID := map[string]*row{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Split(sc.Text(), "\t")
		switch {
		case len(fs) >= 3 && fs[0] == "L":
			r := &row{id: fs[1], label: fs[2], div: 1}
			if len(fs) > 3 {
				for _, fl := range strings.Split(fs[3], ",") {
					switch {
					case fl == "rss":
						r.rss = true
					case fl == "mbps":
						r.mbps = true
					case fl == "over":
						r.over = true
					case strings.HasPrefix(fl, "div="):
						r.div, _ = strconv.ParseFloat(strings.TrimPrefix(fl, "div="), 64)
					}
				}
			}
			if byID[r.id] == nil {
				res.rows = append(res.rows, r)
			} else {
				*byID[r.id] = *r
				continue
			}
			byID[r.id] = r
		case len(fs) >= 7 && fs[0] == "M":
			m := meas{runSecs: math.NaN()}
			m.run, _ = strconv.Atoi(fs[3])
			m.secs, _ = strconv.ParseFloat(fs[4], 64)
			m.rssKB, _ = strconv.ParseFloat(fs[5], 64)
			m.bytes, _ = strconv.ParseFloat(fs[6], 64)
			if len(fs) >= 8 && fs[7] != "" {
				m.runSecs, _ = strconv.ParseFloat(fs[7], 64)
			}
			if res.data[fs[1]] == nil {
				res.data[fs[1]] = map[string][]meas{}
			}
			res.data[fs[1]][fs[2]] = append(res.data[fs[1]][fs[2]], m)
		case len(fs) >= 5 && fs[0] == "F":
			if res.fails[fs[1]] == nil {
				res.fails[fs[1]] = map[string][]string{}
			}
			res.fails[fs[1]][fs[2]] = append(res.fails[fs[1]][fs[2]], "run "+fs[3]+": "+fs[4])
		}
	}
	return res, sc.Err()
}

func table(path string) error {
	res, err := readResults(path)
	if err != nil {
		return err
	}
	secs := func(r *row) func(meas) float64 { return func(m meas) float64 { return m.secs / r.div } }
	header := func(first string) {
		fmt.Printf("| # | %s | kiln | BuildKit | buildah | kiln/BuildKit | kiln/buildah |\n", first)
		fmt.Println("|---|---|---:|---:|---:|---:|---:|")
	}

	fmt.Println("Wall time, median (min–max) over the runs; ratios of the medians, below 1 = kiln faster:")
	fmt.Println()
	header("measurement")
	for _, r := range res.rows {
		cells := res.cells(r, secs(r), fmtSecs)
		if r.mbps {
			for i, t := range tools {
				cells[i] += mbps(res.data[r.id][t])
			}
		}
		res.printRow(r, cells, secs(r), "faster")
	}

	over := func(r *row) func(meas) float64 { return func(m meas) float64 { return (m.secs - m.runSecs) / r.div } }
	runOnly := func(r *row) func(meas) float64 { return func(m meas) float64 { return m.runSecs / r.div } }
	first := true
	for _, r := range res.rows {
		if !r.over {
			continue
		}
		if first {
			fmt.Println()
			fmt.Println("Overhead = wall time minus the time during which a RUN process (npm, go, sh) ran, as bench/runtimer measured it inside the containers; median (min–max). The second table gives that RUN time:")
			fmt.Println()
			header("overhead of")
			first = false
		}
		res.printRow(r, res.cells(r, over(r), fmtSecs), over(r), "less")
	}
	if !first {
		fmt.Println()
		header("RUN time of")
		for _, r := range res.rows {
			if r.over {
				res.printRow(r, res.cells(r, runOnly(r), fmtSecs), runOnly(r), "less")
			}
		}
	}

	fmt.Println()
	fmt.Println("Peak RSS, median: kiln and buildah `/usr/bin/time` \"Maximum resident set size\" (the command or its largest waited-for descendant, e.g. the Go compiler of a RUN); BuildKit: buildkitd's peak RSS during the build (VmHWM, reset before it with /proc/PID/clear_refs) plus buildctl's `/usr/bin/time` peak. Rows marked * are the ones the issue asks RSS for:")
	fmt.Println()
	header("of the run")
	rss := func(m meas) float64 { return m.rssKB }
	for _, r := range res.rows {
		cells := make([]string, len(tools))
		for i, t := range tools {
			cells[i] = fmtRSS(median(res.data[r.id][t], rss))
		}
		mark := ""
		if r.rss {
			mark = " *"
		}
		res.printRowAs(r.id+mark, r, cells, rss, "smaller")
	}

	fmt.Println()
	fmt.Println("<details><summary>Every run (seconds, RUN seconds in brackets, peak RSS MiB after the slash; in each run kiln, BuildKit and buildah follow one another)</summary>")
	fmt.Println()
	fmt.Println("| # | measurement | kiln runs | BuildKit runs | buildah runs |")
	fmt.Println("|---|---|---|---|---|")
	for _, r := range res.rows {
		cells := make([]string, len(tools))
		for i, t := range tools {
			cells[i] = runs(res.data[r.id][t])
			if f := res.fails[r.id][t]; len(f) > 0 {
				cells[i] = strings.TrimPrefix(cells[i]+"; failed: "+strings.Join(f, "; "), "; ")
			}
		}
		fmt.Printf("| %s | %s | %s |\n", r.id, r.label, strings.Join(cells, " | "))
	}
	fmt.Println()
	fmt.Println("</details>")
	return nil
}

// cells gives each tool's "median (min–max)" of f, or why there is none.
func (res *results) cells(r *row, f func(meas) float64, format func(float64) string) []string {
	out := make([]string, len(tools))
	for i, t := range tools {
		ms := res.data[r.id][t]
		switch {
		case len(ms) == 0 && len(res.fails[r.id][t]) > 0:
			out[i] = "failed"
		case len(ms) == 0:
			out[i] = "—"
		default:
			med := median(ms, f)
			out[i] = format(med)
			if lo, hi := minMax(ms, f); len(ms) > 1 && !math.IsNaN(lo) {
				out[i] += " (" + strings.TrimSuffix(format(lo), unit(format(lo))) + "–" + format(hi) + ")"
			}
		}
	}
	return out
}

func (res *results) printRow(r *row, cells []string, f func(meas) float64, better string) {
	res.printRowAs(r.id, r, cells, f, better)
}

// printRowAs prints row r under the name id.
func (res *results) printRowAs(id string, r *row, cells []string, f func(meas) float64, better string) {
	k := median(res.data[r.id]["kiln"], f)
	bk := median(res.data[r.id]["buildkit"], f)
	bh := median(res.data[r.id]["buildah"], f)
	fmt.Printf("| %s | %s | %s | %s | %s |\n", id, r.label, strings.Join(cells, " | "), ratio(k, bk, better), ratio(k, bh, better))
}

// unit is the trailing " ms", " s" or " MiB" of a formatted value, so a
// range whose ends share it prints it once.
func unit(s string) string {
	if i := strings.LastIndexByte(s, ' '); i >= 0 {
		return s[i:]
	}
	return ""
}

func median(ms []meas, f func(meas) float64) float64 {
	var v []float64
	for _, m := range ms {
		if x := f(m); !math.IsNaN(x) {
			v = append(v, x)
		}
	}
	if len(v) == 0 {
		return math.NaN()
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func minMax(ms []meas, f func(meas) float64) (lo, hi float64) {
	lo, hi = math.NaN(), math.NaN()
	for _, m := range ms {
		x := f(m)
		if math.IsNaN(x) {
			continue
		}
		if math.IsNaN(lo) || x < lo {
			lo = x
		}
		if math.IsNaN(hi) || x > hi {
			hi = x
		}
	}
	return lo, hi
}

func mbps(ms []meas) string {
	r := median(ms, func(m meas) float64 {
		if m.secs <= 0 || m.bytes <= 0 {
			return math.NaN()
		}
		return m.bytes / (1 << 20) / m.secs
	})
	if math.IsNaN(r) {
		return ""
	}
	return fmt.Sprintf(", %.0f MiB/s", r)
}

func fmtSecs(s float64) string {
	a := math.Abs(s)
	switch {
	case math.IsNaN(s):
		return "—"
	case a < 1:
		return fmt.Sprintf("%.0f ms", s*1000)
	case a < 10:
		return fmt.Sprintf("%.2f s", s)
	}
	return fmt.Sprintf("%.1f s", s)
}

func fmtRSS(kb float64) string {
	if math.IsNaN(kb) || kb == 0 {
		return "—"
	}
	return fmt.Sprintf("%.0f MiB", kb/1024)
}

func ratio(k, b float64, better string) string {
	if math.IsNaN(k) || math.IsNaN(b) || b <= 0 || k < 0 {
		return "—"
	}
	r := k / b
	s := fmt.Sprintf("%.2f", r)
	if r < 0.1 {
		s = fmt.Sprintf("%.3f", r)
	}
	if r > 0 && r < 1 {
		s += fmt.Sprintf(" (%.1fx %s)", 1/r, better)
	}
	return s
}

func runs(ms []meas) string {
	var s []string
	for _, m := range ms {
		c := strconv.FormatFloat(m.secs, 'f', 3, 64)
		if !math.IsNaN(m.runSecs) && m.runSecs > 0 {
			c += " [" + strconv.FormatFloat(m.runSecs, 'f', 3, 64) + "]"
		}
		if m.rssKB > 0 {
			c += fmt.Sprintf("/%.0f", m.rssKB/1024)
		}
		s = append(s, c)
	}
	return strings.Join(s, ", ")
}
