package session

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/containerd/platforms"

	"github.com/kiln-build/kiln/internal/attest"
	"github.com/kiln-build/kiln/internal/executor"
	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/instr"
)

// BuildKit's scanner protocol: where a generator finds the filesystem to
// scan and writes its statements.
const (
	scanSource      = "/run/src/core/sbom"
	scanDestination = "/run/out"
)

// scanSBOMs runs the SBOM generator image on each platform's final image,
// as BuildKit does: the image's root filesystem read-only at
// BUILDKIT_SCAN_SOURCE, an empty BUILDKIT_SCAN_DESTINATION whose *.spdx.json
// files are the statements, the attributes as BUILDKIT_SCAN_<KEY>.
func scanSBOMs(ctx context.Context, w *instr.Worker, res *instr.Resolver, o attest.SBOMOpts, images []*image.Image) ([][]sbomFile, error) {
	if o.ScanContext != "" && attest.ScanEnabled(o.ScanContext, "") || o.ScanStage != "" && o.ScanStage != "false" {
		return nil, fmt.Errorf("BUILDKIT_SBOM_SCAN_CONTEXT and BUILDKIT_SBOM_SCAN_STAGE are not supported yet: kiln scans the final image only")
	}
	host := platforms.Normalize(platforms.DefaultSpec())
	resolved, err := res.Resolve(ctx, o.Generator, host)
	gen := resolved.Image
	if err != nil {
		return nil, fmt.Errorf("SBOM generator %s: %w", o.Generator, err)
	}
	out := make([][]sbomFile, len(images))
	for i, img := range images {
		v := w.Progress.Start(fmt.Sprintf("[internal] SBOM of %s with %s", platforms.Format(img.Config.Platform), o.Generator))
		out[i], err = scanOne(ctx, w, gen, img, o)
		v.Done(err)
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// sbomFile is one statement a generator wrote: Name is its file name
// without .spdx.json ("sbom" for the image itself).
type sbomFile struct {
	Name      string
	Statement attest.Statement
}

func scanOne(ctx context.Context, w *instr.Worker, gen, img *image.Image, o attest.SBOMOpts) ([]sbomFile, error) {
	root, err := w.Snap.Prepare(ctx, gen.Layers)
	if err != nil {
		return nil, err
	}
	defer w.Snap.Remove(root)
	src, err := w.Snap.View(ctx, img.Layers)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	dest, err := w.Store.TempDir("sbom")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dest)
	cfg := gen.Config.Config
	args := append(slices.Clone(cfg.Entrypoint), cfg.Cmd...)
	if len(args) == 0 {
		return nil, fmt.Errorf("SBOM generator %s has no entrypoint or command", o.Generator)
	}
	env := append(slices.Clone(cfg.Env), "BUILDKIT_SCAN_SOURCE="+scanSource, "BUILDKIT_SCAN_DESTINATION="+scanDestination)
	for _, k := range slices.Sorted(maps.Keys(o.Params)) {
		env = append(env, "BUILDKIT_SCAN_"+strings.ToUpper(k)+"="+o.Params[k])
	}
	var stderr bytes.Buffer
	err = w.Runner.Run(ctx, executor.Spec{
		ID: "kiln-sbom", Rootfs: root.Root, UpperDir: root.UpperDir, Args: args, Env: env,
		Cwd: cfg.WorkingDir, User: cfg.User, Network: executor.NetworkDefault,
		Mounts: []executor.Mount{
			{Type: "bind", Source: src.Root, Destination: scanSource, Options: []string{"rbind", "ro"}},
			{Type: "bind", Source: dest, Destination: scanDestination, Options: []string{"rbind"}},
			{Type: "tmpfs", Source: "tmpfs", Destination: "/tmp", Options: []string{"nosuid", "nodev", "mode=1777"}},
		},
		Reserved: root.Reserved, Stderr: &stderr,
	})
	if err != nil {
		return nil, fmt.Errorf("SBOM generator %s: %w: %s", o.Generator, err, strings.TrimSpace(stderr.String()))
	}
	return readScanOutput(dest)
}

// readScanOutput reads the statements a generator wrote, by file name.
func readScanOutput(dir string) ([]sbomFile, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.spdx.json"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("the SBOM generator wrote no *.spdx.json to %s", scanDestination)
	}
	slices.Sort(files)
	var out []sbomFile
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var st attest.Statement
		if err := json.Unmarshal(data, &st); err != nil || st.PredicateType == "" || len(st.Predicate) == 0 {
			return nil, fmt.Errorf("SBOM generator output %s is not an in-toto statement (%v)", filepath.Base(f), err)
		}
		st.Type, st.Subject = attest.StatementType, nil
		out = append(out, sbomFile{Name: strings.TrimSuffix(filepath.Base(f), ".spdx.json"), Statement: st})
	}
	return out, nil
}
