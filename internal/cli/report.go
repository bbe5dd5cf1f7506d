package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

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
}

func printExcerpt(w io.Writer, path string, loc *dockerfile.LocationError) {
	src, err := os.ReadFile(path)
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
