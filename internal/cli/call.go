package cli

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/spf13/cobra"

	"github.com/kiln-build/kiln/internal/buildctx"
	"github.com/kiln-build/kiln/internal/convert"
	"github.com/kiln-build/kiln/internal/dockerfile"
	kilnlint "github.com/kiln-build/kiln/internal/lint"
	"github.com/kiln-build/kiln/internal/scope"
	"github.com/kiln-build/kiln/internal/subrequest"
)

// callFunc is a parsed --call value, as buildx reads it:
// NAME[,format=json][,ignorestatus=BOOL].
type callFunc struct {
	Name, Format string
	IgnoreStatus bool
}

// parseCall reads --call; nil means a plain build ("build" or "").
func parseCall(s string) (*callFunc, error) {
	if s == "" {
		return nil, nil
	}
	r := csv.NewReader(strings.NewReader(s))
	fields, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("invalid --call %q: %w", s, err)
	}
	f := &callFunc{}
	for _, field := range fields {
		k, v, ok := strings.Cut(field, "=")
		switch {
		case ok && k == "format":
			f.Format = v
		case ok && k == "ignorestatus":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return nil, fmt.Errorf("invalid ignorestatus print value: %s", v)
			}
			f.IgnoreStatus = b
		case ok:
			return nil, fmt.Errorf("invalid print field: %s", field)
		case f.Name != "":
			return nil, fmt.Errorf("invalid print value: %s", s)
		default:
			f.Name = field
		}
	}
	if f.Name == "check" { // buildx's alias
		f.Name = "lint"
	}
	switch f.Name {
	case "build":
		return nil, nil
	case "lint", "targets", "outline":
		return f, nil
	}
	return nil, usageError{fmt.Errorf("--call=%s is not supported (kiln knows build, check, outline, targets)", f.Name)}
}

// runCall answers --call=check|targets for the Dockerfile, printing what
// buildx prints; it fails with exit status 1 when check finds warnings,
// unless ignorestatus=true. kilnRules adds kiln's own rules to check.
func runCall(cmd *cobra.Command, f *callFunc, contextDir, file string, kilnRules bool) error {
	in, cleanup, err := checkInputs(cmd, contextDir, file)
	if err != nil {
		return err
	}
	defer cleanup()
	src, err := buildctx.ReadDockerfile(in.file, in.name)
	if err != nil {
		return err
	}
	df, err := dockerfile.Parse(in.name, src)
	if err != nil {
		return err
	}
	w := cmd.OutOrStdout()
	if f.Name == "targets" {
		list := &subrequest.Targets{Sources: [][]byte{src}}
		for i, st := range df.Stages {
			list.Targets = append(list.Targets, subrequest.NewTarget(st.Name, st.DocComment, st.BaseName, st.Platform, i == len(df.Stages)-1, st.Location))
		}
		if f.Format == "json" {
			return printJSON(w, list)
		}
		return list.PrintText(w)
	}
	if f.Name == "outline" {
		return printOutline(cmd, w, f, df)
	}
	results, err := lintResults(cmd, in, df, src, kilnRules)
	if err != nil {
		return err
	}
	n := len(results.Warnings)
	if f.Format == "json" {
		if err := printJSON(w, results); err != nil {
			return err
		}
	} else {
		switch n {
		case 0:
		case 1:
			fmt.Fprintln(w, "Check complete, 1 warning has been found!")
		default:
			fmt.Fprintf(w, "Check complete, %d warnings have been found!\n", n)
		}
		results.PrintText(w)
		switch {
		case results.Error != nil && n > 0:
			fmt.Fprintln(w)
		case results.Error == nil && n == 0:
			fmt.Fprintln(w, "Check complete, no warnings found.")
		}
	}
	if results.Error != nil {
		// As buildx: the build's error fails the check, after the warnings.
		fmt.Fprint(cmd.ErrOrStderr(), "ERROR: ")
		results.PrintError(cmd.ErrOrStderr())
		return reported{errors.New(results.Error.Message)}
	}
	if n == 0 || f.IgnoreStatus {
		return nil
	}
	return reported{fmt.Errorf("%d lint warnings", n)} // exit status 1, as buildx
}

// printOutline answers --call=outline for --target with the build args
// given, as buildx prints BuildKit's outline subrequest.
func printOutline(cmd *cobra.Command, w io.Writer, f *callFunc, df *dockerfile.Dockerfile) error {
	var opts kilnlint.Options
	if err := checkBuildFlags(cmd, &opts); err != nil {
		return err
	}
	target, _ := cmd.Flags().GetString("target")
	host := platforms.Normalize(platforms.DefaultSpec())
	p := host
	if opts.Platform != nil {
		p = *opts.Platform
	}
	o, err := convert.Outline(df, target, opts.BuildArgs, scope.Env(scope.Predefined(host, p, target, opts.BuildArgs)))
	if err != nil {
		return err
	}
	if f.Format == "json" {
		return printJSON(w, o)
	}
	return o.PrintText(w)
}

// printJSON writes v as buildx prints a subrequest's result.json.
func printJSON(w io.Writer, v any) error {
	dt, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, string(dt))
	return err
}

// lintResults runs kiln's lint and keeps what BuildKit's lint subrequest
// reports: its rules only, unless kilnRules.
func lintResults(cmd *cobra.Command, in checkInput, df *dockerfile.Dockerfile, src []byte, kilnRules bool) (*subrequest.LintResults, error) {
	bctx, err := buildctx.Load(in.contextDir, in.file)
	if err != nil {
		return nil, err
	}
	opts := kilnlint.Options{Ignore: bctx.Ignore, BaseEnv: kilnlint.StoreEnv(checkStoreRoot(cmd))}
	if err := checkBuildFlags(cmd, &opts); err != nil {
		return nil, err
	}
	target, _ := cmd.Flags().GetString("target")
	opts.Target = target
	res := kilnlint.Run(df, opts)
	found, err := kilnlint.ForTarget(df, target, res.Findings)
	if err != nil {
		return nil, err
	}
	results := subrequest.NewLintResults(in.name, src)
	if e := res.Err; e != nil {
		results.SetError(e.Err.Error(), []parser.Range{{Start: parser.Position{Line: e.Line}, End: parser.Position{Line: e.Line}}})
	}
	for _, fd := range found {
		if !kilnRules && !kilnlint.IsBuildKitRule(fd.Rule) {
			continue
		}
		ranges := fd.Ranges
		if len(ranges) == 0 && fd.Line > 0 {
			ranges = []parser.Range{{Start: parser.Position{Line: fd.Line}, End: parser.Position{Line: fd.Line}}}
		}
		results.Add(fd.Rule, fd.Description, fd.URL, fd.Message, ranges)
	}
	return results, nil
}
