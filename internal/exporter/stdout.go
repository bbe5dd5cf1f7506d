package exporter

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// stdoutIsTerminal reports whether standard output is a terminal; a var so
// tests can pretend it is.
var stdoutIsTerminal = func() bool {
	_, err := unix.IoctlGetTermios(int(os.Stdout.Fd()), unix.TCGETS)
	return err == nil
}

// checkStdout refuses what buildx refuses for dest=-: two outputs sharing
// standard output, or a tar written to a terminal.
func checkStdout(outputs []Output) error {
	used := false
	for _, op := range outputs {
		if op.Dest != Stdout {
			continue
		}
		if used {
			return fmt.Errorf("multiple outputs configured to write to stdout")
		}
		used = true
		if stdoutIsTerminal() {
			return fmt.Errorf("dest file is required for %s exporter. refusing to write to console", op.Type)
		}
	}
	return nil
}
