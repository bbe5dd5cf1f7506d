package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"

	"github.com/kiln-build/kiln/internal/buildctx"
	"github.com/kiln-build/kiln/internal/dockerfile"
	"github.com/kiln-build/kiln/internal/instr"
)

// Report prints a failed build the way BuildKit does: the failing step's
// last output lines, the Dockerfile excerpt with the line marked, then the
// error itself.
func Report(w io.Writer, err error, dockerfilePath string) {
	var step *instr.StepError
	if errors.As(err, &step) && len(step.Tail) > 0 {
		fmt.Fprintln(w, "------")
		fmt.Fprintf(w, " > [%s] %s:\n", step.Stage, step.Name)
		for _, l := range step.Tail {
			fmt.Fprintln(w, l)
		}
		fmt.Fprintln(w, "------")
	}
	var loc *dockerfile.LocationError
	if errors.As(err, &loc) && loc.Line > 0 && dockerfilePath != "" {
		printExcerpt(w, dockerfilePath, loc)
	}
	fmt.Fprintln(w, "ERROR:", err)
	if diskFull(err, step) {
		fmt.Fprintln(w, "hint: the disk is full; free space, or remove what no image needs with `kiln prune` (`kiln du` shows what takes the space)")
	}
}

// diskFull tells an out-of-space failure: kiln's own (ENOSPC) or a RUN
// whose output says so.
func diskFull(err error, step *instr.StepError) bool {
	if errors.Is(err, syscall.ENOSPC) {
		return true
	}
	if step != nil {
		for _, l := range step.Tail {
			if strings.Contains(strings.ToLower(l), "no space left on device") {
				return true
			}
		}
	}
	return false
}

func printExcerpt(w io.Writer, path string, loc *dockerfile.LocationError) {
	src, err := buildctx.ReadDockerfile(path, path)
	if err != nil {
		return
	}
	lines := strings.Split(string(src), "\n")
	from, to := max(loc.Line-3, 1), min(loc.Line+1, len(lines))
	fmt.Fprintf(w, "%s:%d\n--------------------\n", loc.File, loc.Line)
	for n := from; n <= to; n++ {
		mark := "   "
		if n == loc.Line {
			mark = ">>>"
		}
		fmt.Fprintf(w, " %3d | %s %s\n", n, mark, lines[n-1])
	}
	fmt.Fprintln(w, "--------------------")
}
