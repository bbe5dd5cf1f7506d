package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// WriteReference writes the CLI reference (docs/cli.md) from the commands
// themselves, so it cannot drift from what kiln accepts.
func WriteReference(w io.Writer) {
	root := New()
	fmt.Fprintln(w, "# kiln command reference")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Generated from the commands by `go test ./internal/cli -run TestReference -update`; do not edit.")
	writeCommand(w, root)
}

func writeCommand(w io.Writer, c *cobra.Command) {
	if c.Hidden || c.Name() == "help" || c.Name() == "completion" {
		return
	}
	if c.Runnable() {
		fmt.Fprintf(w, "\n## %s\n\n%s\n\n```\n%s```\n", c.CommandPath(), c.Short, strings.TrimLeft(c.UsageString(), "\n"))
	}
	for _, sub := range c.Commands() {
		writeCommand(w, sub)
	}
}
