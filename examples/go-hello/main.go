// Command hello is kiln's bundled example: it says hello and exits.
package main

import (
	"fmt"
	"runtime"
)

func main() {
	fmt.Printf("hello from kiln (%s/%s)\n", runtime.GOOS, runtime.GOARCH)
}
