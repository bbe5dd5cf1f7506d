// Command benchtool holds the small helpers of bench/run.sh that are awkward
// in bash:
//
//	benchtool freeport                  print a free TCP port on 127.0.0.1
//	benchtool genctx DIR FILES MB       write a build context of FILES files, MB MiB in all
//	benchtool runtime LOG               seconds during which a RUN process ran (runtimer lines in LOG)
//	benchtool table RESULTS.tsv         print the results as Markdown tables
//	benchtool sandbox-spec BUNDLE ROOTFS [SRC:DEST]... -- ARGS...
//	                                    write a runc config with Docker's defaults
//	benchtool timeit ARGS...            run ARGS (output to stderr), print its milliseconds
//
// RESULTS.tsv is written by run.sh, one record a line, tab-separated:
//
//	L  ROW  LABEL  FLAGS               a row of the table, in order
//	M  ROW  TOOL  RUN  SECONDS  RSS_KB  BYTES  RUN_SECONDS   one measurement
//	F  ROW  TOOL  RUN  REASON          a run that failed
//
// TOOL is kiln, buildkit or buildah. FLAGS is a comma-separated list: "rss"
// (the row's peak RSS matters most), "mbps" (also report BYTES/SECONDS),
// "div=N" (report SECONDS/N), "over" (report the overhead, SECONDS minus
// RUN_SECONDS).
package main

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
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
	case "runtime":
		if len(os.Args) != 3 {
			usage()
		}
		err = runtime(os.Args[2])
	case "table":
		if len(os.Args) != 3 {
			usage()
		}
		err = table(os.Args[2])
	case "sandbox-spec":
		sep := slices.Index(os.Args, "--")
		if len(os.Args) < 4 || sep < 4 || sep == len(os.Args)-1 {
			usage()
		}
		err = sandboxSpec(os.Args[2], os.Args[3], os.Args[4:sep], os.Args[sep+1:])
	case "timeit":
		if len(os.Args) < 3 {
			usage()
		}
		err = timeit(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtool:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: benchtool freeport | genctx DIR FILES MB | runtime LOG | table RESULTS.tsv |\n"+
		"  sandbox-spec BUNDLE ROOTFS [SRC:DEST]... -- ARGS... | timeit ARGS...")
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
