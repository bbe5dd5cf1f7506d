// Command kiln-compose reads compose files for `kiln bake`: kiln sends the
// files on stdin and reads the targets back (bake.ServeCompose). It is a
// program of its own so that kiln does not link compose-go's loader and
// its JSON-Schema validation, whose package init would slow every kiln
// start; install it beside kiln.
package main

import (
	"fmt"
	"os"

	"github.com/kiln-build/kiln/internal/bake"
	"github.com/kiln-build/kiln/internal/composeload"
)

func main() {
	bake.ComposeLoader = composeload.Load
	if err := bake.ServeCompose(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "kiln-compose:", err)
		os.Exit(1)
	}
}
