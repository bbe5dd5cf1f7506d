// Command sbom-scanner is an SBOM generator for BuildKit's scanner
// protocol, made with syft: it scans BUILDKIT_SCAN_SOURCE (and each entry of
// BUILDKIT_SCAN_SOURCE_EXTRAS) and writes one in-toto statement with an
// SPDX JSON predicate per target into BUILDKIT_SCAN_DESTINATION, named
// <target>.spdx.json. Built into an image (build.sh), it works as
// `--attest type=sbom,generator=IMAGE` for kiln and for BuildKit.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "sbom-scanner:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	job, err := jobFromEnv(os.LookupEnv)
	if err != nil {
		return err
	}
	// syft unpacks into the temp directory; a FROM scratch scanner image
	// has none unless the runtime mounts one.
	if err := os.MkdirAll(os.TempDir(), 0o1777); err != nil {
		return fmt.Errorf("making %s: %w", os.TempDir(), err)
	}
	return job.run(ctx)
}
