// Command benchtool holds the small helpers of bench/run.sh that are awkward
// in bash:
//
//	benchtool freeport                  print a free TCP port on 127.0.0.1
//	benchtool genctx DIR FILES MB       write a build context of FILES files, MB MiB in all
//	benchtool table RESULTS.tsv         print the results as Markdown tables
//
// RESULTS.tsv is written by run.sh, one record a line, tab-separated:
//
//	L  ROW  LABEL  FLAGS               a row of the table, in order
//	M  ROW  TOOL  RUN  SECONDS  RSS_KB  BYTES   one measurement
//
// FLAGS is a comma-separated list: "rss" (also report the peak RSS of the
// row), "mbps" (also report BYTES/SECONDS), "div=N" (report SECONDS/N).
package main

import (
	"bufio"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "freeport":
		err = freeport()
	case "genctx":
		if len(os.Args) != 5 {
			usage()
		}
		files, err1 := strconv.Atoi(os.Args[3])
		mb, err2 := strconv.Atoi(os.Args[4])
		if err1 != nil || err2 != nil || files <= 0 || mb <= 0 {
			usage()
		}
		err = genctx(os.Args[2], files, int64(mb)<<20)
	case "table":
		if len(os.Args) != 3 {
			usage()
		}
		err = table(os.Args[2])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtool:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: benchtool freeport | genctx DIR FILES MB | table RESULTS.tsv")
	os.Exit(2)
}

func freeport() error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer l.Close()
	fmt.Println(l.Addr().(*net.TCPAddr).Port)
	return nil
}

// genctx writes files files into dir/dNNN/ (100 a directory), total bytes in
// all, of sizes spread between half and one and a half times the mean. The
// content is lowercase hex of a seeded PRNG: text-like, compressible about
// 2:1 like source trees, and the same on every run.
func genctx(dir string, files int, total int64) error {
	rng := rand.New(rand.NewPCG(12, 2024))
	mean := total / int64(files)
	sizes := make([]int64, files)
	var sum int64
	for i := range sizes {
		sizes[i] = mean/2 + rng.Int64N(mean+1)
		sum += sizes[i]
	}
	// Correct the total exactly on the last file.
	sizes[files-1] += total - sum
	if sizes[files-1] < 0 {
		sizes[files-1] = 0
	}
	const hexdigits = "0123456789abcdef"
	buf := make([]byte, 0, 2*mean+64)
	for i, size := range sizes {
		sub := filepath.Join(dir, fmt.Sprintf("d%03d", i/100))
		if i%100 == 0 {
			if err := os.MkdirAll(sub, 0o755); err != nil {
				return err
			}
		}
		buf = buf[:0]
		for int64(len(buf)) < size {
			v := rng.Uint64()
			for k := 0; k < 16 && int64(len(buf)) < size; k++ {
				buf = append(buf, hexdigits[v&15])
				v >>= 4
			}
		}
		if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("f%05d.txt", i)), buf, 0o644); err != nil {
			return err
		}
	}
	return nil
}

type row struct {
	id, label string
	rss, mbps bool
	div       float64
}

type meas struct {
	secs  float64
	rssKB float64
	bytes float64
}

func table(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var rows []*row
	byID := map[string]*row{}
	data := map[string]map[string][]meas{} // row → tool → runs
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
					case strings.HasPrefix(fl, "div="):
						r.div, _ = strconv.ParseFloat(strings.TrimPrefix(fl, "div="), 64)
					}
				}
			}
			if byID[r.id] == nil {
				rows = append(rows, r)
			}
			byID[r.id] = r
		case len(fs) >= 7 && fs[0] == "M":
			secs, _ := strconv.ParseFloat(fs[4], 64)
			rss, _ := strconv.ParseFloat(fs[5], 64)
			b, _ := strconv.ParseFloat(fs[6], 64)
			if data[fs[1]] == nil {
				data[fs[1]] = map[string][]meas{}
			}
			data[fs[1]][fs[2]] = append(data[fs[1]][fs[2]], meas{secs, rss, b})
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}

	fmt.Println("| # | measurement | kiln (median) | buildah (median) | kiln/buildah |")
	fmt.Println("|---|---|---:|---:|---:|")
	for _, r := range rows {
		k, b := data[r.id]["kiln"], data[r.id]["buildah"]
		ks := median(k, func(m meas) float64 { return m.secs / r.div })
		bs := median(b, func(m meas) float64 { return m.secs / r.div })
		kc, bc := fmtSecs(ks), fmtSecs(bs)
		if r.mbps {
			kc += mbps(k)
			bc += mbps(b)
		}
		fmt.Printf("| %s | %s | %s | %s | %s |\n", r.id, r.label, kc, bc, ratio(ks, bs, "faster"))
	}
	first := true
	for _, r := range rows {
		if !r.rss {
			continue
		}
		if first {
			fmt.Println()
			fmt.Println("Peak RSS (row 8: `/usr/bin/time` \"Maximum resident set size\" of the command and its children's largest):")
			fmt.Println()
			fmt.Println("| # | of the run | kiln (median) | buildah (median) | kiln/buildah |")
			fmt.Println("|---|---|---:|---:|---:|")
			first = false
		}
		get := func(m meas) float64 { return m.rssKB }
		kr, br := median(data[r.id]["kiln"], get), median(data[r.id]["buildah"], get)
		fmt.Printf("| 8 (%s) | %s | %s | %s | %s |\n", r.id, r.label, fmtRSS(kr), fmtRSS(br), ratio(kr, br, "smaller"))
	}

	fmt.Println()
	fmt.Println("<details><summary>Every run (seconds, in the order they ran: kiln and buildah alternate)</summary>")
	fmt.Println()
	fmt.Println("| # | measurement | kiln runs | buildah runs |")
	fmt.Println("|---|---|---|---|")
	for _, r := range rows {
		fmt.Printf("| %s | %s | %s | %s |\n", r.id, r.label, runs(data[r.id]["kiln"]), runs(data[r.id]["buildah"]))
	}
	fmt.Println()
	fmt.Println("</details>")
	return nil
}

func median(ms []meas, f func(meas) float64) float64 {
	if len(ms) == 0 {
		return math.NaN()
	}
	v := make([]float64, len(ms))
	for i, m := range ms {
		v[i] = f(m)
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func mbps(ms []meas) string {
	r := median(ms, func(m meas) float64 {
		if m.secs <= 0 {
			return 0
		}
		return m.bytes / (1 << 20) / m.secs
	})
	if math.IsNaN(r) {
		return ""
	}
	return fmt.Sprintf(" (%.0f MiB/s)", r)
}

func fmtSecs(s float64) string {
	switch {
	case math.IsNaN(s):
		return "—"
	case s < 1:
		return fmt.Sprintf("%.0f ms", s*1000)
	case s < 10:
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
	if math.IsNaN(k) || math.IsNaN(b) || b == 0 {
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
		s = append(s, strconv.FormatFloat(m.secs, 'f', 3, 64))
	}
	return strings.Join(s, ", ")
}
