package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/kiln-build/kiln/internal/bake"
	"github.com/kiln-build/kiln/internal/exporter"
	"github.com/kiln-build/kiln/internal/progress"
	"github.com/kiln-build/kiln/internal/session"
)

// bakeJob is one target's build: its options, the targets whose results it
// reads (target: contexts) and, once built, its result.
type bakeJob struct {
	name    string
	opts    session.Options
	file    string   // the Dockerfile, for error excerpts
	needs   []string // targets to build first
	done    chan struct{}
	result  *session.Result
	linkDir string // where a linked target's result is written for its users
}

// bakeBuild builds the resolved targets in one process over one store:
// independent targets at once (at most -j), a target after those it reads
// through target: contexts, every build sharing the steps in progress, the
// progress display and the loaded contexts (session.Shared).
func bakeBuild(cmd *cobra.Command, g *globalFlags, f *bakeFlags, res *bake.Resolved) error {
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	ent, err := bake.ParseEntitlements(f.allow, wd)
	if err != nil {
		return usageError{err}
	}
	if err := ent.Check(res.Targets); err != nil {
		return err
	}
	parallel, err := parseJobs(f.jobs)
	if err != nil {
		return usageError{err}
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for n := range res.Targets {
			if !yield(n) {
				return
			}
		}
	})
	var check []string
	for _, n := range names {
		call := "build"
		if c := res.Targets[n].Call; c != nil && *c != "" {
			call = *c
		}
		switch call {
		case "build":
		case "check":
			check = append(check, n)
		default:
			return fmt.Errorf("target %s: call=%s is not supported yet (build, check)", n, call)
		}
	}
	if len(check) > 0 {
		if len(check) != len(names) {
			return fmt.Errorf("targets %s are checked and the others built: mixing call=check and call=build in one bake is not supported yet", strings.Join(check, ", "))
		}
		return bakeCheck(cmd, res, check)
	}
	st, err := openStore(g)
	if err != nil {
		return err
	}
	tmp, err := st.TempDir("bake")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	jobs := map[string]*bakeJob{}
	for _, n := range names {
		j, err := bakeJobFor(n, res.Targets[n], g, tmp)
		if err != nil {
			return fmt.Errorf("target %s: %w", n, err)
		}
		jobs[n] = j
	}
	for _, j := range jobs {
		for _, need := range j.needs {
			if jobs[need].linkDir == "" {
				jobs[need].linkDir = filepath.Join(tmp, "link-"+need)
				jobs[need].opts.Outputs = append(jobs[need].opts.Outputs, exporter.Output{Type: "oci", Dest: jobs[need].linkDir, Attrs: map[string]string{"tar": "false"}})
			}
		}
	}
	mode := f.progress
	if mode == "auto" && isTerminal(os.Stderr) {
		mode = "tty"
	}
	rep, err := progress.New(cmd.ErrOrStderr(), mode)
	if err != nil {
		return usageError{err}
	}
	defer rep.Close()
	shared := session.NewShared(rep)
	defer shared.Close()
	for _, j := range jobs {
		j.opts.Metadata = f.metadataFile != ""
	}
	if err := runJobs(cmd, jobs, shared, parallel); err != nil {
		return err
	}
	if f.metadataFile != "" {
		return writeBakeMetadata(f.metadataFile, jobs)
	}
	return nil
}

// runJobs runs every job once the jobs it needs are done, at most parallel
// at a time; the first failure cancels the rest (buildx's fail-fast).
func runJobs(cmd *cobra.Command, jobs map[string]*bakeJob, shared *session.Shared, parallel int) error {
	eg, ctx := errgroup.WithContext(cmd.Context())
	sem := make(chan struct{}, parallel)
	for _, j := range jobs {
		eg.Go(func() error {
			defer close(j.done)
			for _, need := range j.needs {
				select {
				case <-jobs[need].done:
					if jobs[need].result == nil {
						return context.Canceled // its failure is reported
					}
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return ctx.Err()
			}
			defer func() { <-sem }()
			for _, need := range j.needs {
				j.opts.Contexts = withLink(j.opts.Contexts, need, jobs[need])
			}
			j.opts.Shared, j.opts.Name = shared, j.name
			r, err := session.Run(ctx, j.opts)
			if err != nil {
				if ctx.Err() == nil {
					Report(cmd.ErrOrStderr(), fmt.Errorf("target %s: %w", j.name, err), j.file)
				}
				return reported{err}
			}
			j.result = r
			return nil
		})
	}
	return eg.Wait()
}

// withLink points the contexts that name target:need at need's result, in
// the OCI layout its build wrote.
func withLink(contexts map[string]string, need string, built *bakeJob) map[string]string {
	out := map[string]string{}
	for k, v := range contexts {
		if v == "target:"+need {
			v = "oci-layout://" + built.linkDir + "@" + built.result.Descriptor.Digest.String()
		}
		out[k] = v
	}
	return out
}

// parseJobs reads -j: "N", or "fail-fast[,parallel=N]"; 0 or unset is the
// CPU count.
func parseJobs(s string) (int, error) {
	n := 0
	if s != "" {
		if v, err := strconv.Atoi(s); err == nil {
			n = v
		} else {
			for _, field := range strings.Split(s, ",") {
				k, v, ok := strings.Cut(field, "=")
				switch {
				case !ok && k == "fail-fast":
				case !ok:
					return 0, fmt.Errorf("-j %s: mode %q is not supported yet (fail-fast)", s, k)
				case k == "parallel":
					if n, err = strconv.Atoi(v); err != nil {
						return 0, fmt.Errorf("-j %s: invalid parallel value %q", s, v)
					}
				default:
					return 0, fmt.Errorf("-j %s: unknown option %q", s, k)
				}
			}
		}
	}
	if n < 0 {
		return 0, fmt.Errorf("-j %s: must not be negative", s)
	}
	if n == 0 {
		n = runtime.NumCPU()
	}
	return n, nil
}

// writeBakeMetadata writes --metadata-file as buildx: one entry per target,
// each what a --metadata-file of its own build would hold.
func writeBakeMetadata(path string, jobs map[string]*bakeJob) error {
	m := map[string]any{}
	for n, j := range jobs {
		if j.result != nil {
			m[n] = j.result.Metadata
		}
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("writing --metadata-file: %w", err)
	}
	return os.Rename(tmp, path)
}

// bakeCheck lints each target's Dockerfile (--call=check, --check).
func bakeCheck(cmd *cobra.Command, res *bake.Resolved, names []string) error {
	for _, n := range names {
		t := res.Targets[n]
		if t.DockerfileInline != nil {
			return fmt.Errorf("target %s: --check of dockerfile-inline is not supported yet", n)
		}
		dir, err := localContext(t)
		if err != nil {
			return fmt.Errorf("target %s: %w", n, err)
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "target %s:\n", n)
		if err := runCheck(cmd, dir, targetDockerfile(t, dir), "text"); err != nil {
			return err
		}
	}
	return nil
}
