// Command kiln builds OCI images from Dockerfiles without a daemon.
package main

import (
	"os"

	"github.com/kiln-build/kiln/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Stderr, nil))
}
