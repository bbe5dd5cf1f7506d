package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/kiln-build/kiln/test/sandboxspec"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// sandboxSpec writes BUNDLE/config.json: a container over ROOTFS with
// Docker's default capabilities and seccomp profile and no user namespace
// (docs/recipes' kubernetes-job-container), the bind mounts SRC:DEST (rw),
// running args. It is the configuration the container tests run kiln's
// image under (test/sandboxspec).
func sandboxSpec(bundle, rootfs string, binds, args []string) error {
	var mounts []specs.Mount
	for _, b := range binds {
		src, dest, ok := strings.Cut(b, ":")
		if !ok || !filepath.IsAbs(src) || !filepath.IsAbs(dest) {
			return fmt.Errorf("bind %q: want /SRC:/DEST", b)
		}
		mounts = append(mounts, specs.Mount{Destination: dest, Type: "bind", Source: src, Options: []string{"rbind", "rw"}})
	}
	spec, err := sandboxspec.Spec(sandboxspec.Security{Seccomp: "RuntimeDefault"}, rootfs, args, mounts)
	if err != nil {
		return err
	}
	data, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(bundle, "config.json"), data, 0o644)
}

// timeit runs args, its output passed through, and prints the
// milliseconds it took: the container's busybox date has no %N.
func timeit(args []string) error {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stderr, os.Stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w", args[0], err)
	}
	fmt.Println(time.Since(start).Milliseconds())
	return nil
}
