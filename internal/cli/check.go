package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/kiln-build/kiln/internal/buildctx"
	"github.com/kiln-build/kiln/internal/dockerfile"
	"github.com/kiln-build/kiln/internal/lint"
)

func newCheckCmd() *cobra.Command {
	var file, format string
	cmd := &cobra.Command{
		Use:   "check [-f Dockerfile] [PATH]",
		Short: "Lint a Dockerfile without building it",
		Long: `Lint a Dockerfile without building it.

PATH is the build context; its .dockerignore (or <Dockerfile>.dockerignore)
is read for the CopyIgnoredFile rule. It defaults to the directory of -f,
else the current directory.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCheck(cmd, contextOf(args, file), dockerfileOf(args, file), format)
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "the Dockerfile (default: PATH/Dockerfile)")
	cmd.Flags().StringVar(&format, "format", "text", "output: text or json")
	return cmd
}

// runCheck lints one Dockerfile and prints the findings (kiln check and
// kiln build --check). contextDir is the build context, for its ignore
// file; "-" (a context on stdin) has none.
func runCheck(cmd *cobra.Command, contextDir, file, format string) error {
	src, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	df, err := dockerfile.Parse(file, src)
	if err != nil {
		return err
	}
	var opts lint.Options
	if contextDir != "-" {
		bctx, err := buildctx.Load(contextDir, file)
		if err != nil {
			return err
		}
		opts.Ignore = bctx.Ignore
	}
	findings := lint.CheckWith(df, opts)
	w := cmd.OutOrStdout()
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(findings); err != nil {
			return err
		}
	} else {
		for _, f := range findings {
			fmt.Fprintf(w, "%s:%d: %s: %s\n", f.File, f.Line, f.Rule, f.Message)
			if f.Advice != "" {
				fmt.Fprintf(w, "    %s\n", f.Advice)
			}
		}
		fmt.Fprintf(w, "%d findings\n", len(findings))
	}
	if len(findings) > 0 && lint.ErrorsOn(df) {
		return fmt.Errorf("%d findings and the Dockerfile says check=error=true", len(findings))
	}
	return nil
}

// contextOf is PATH, else the directory of -f, else ".".
func contextOf(args []string, file string) string {
	switch {
	case len(args) == 1:
		return args[0]
	case file != "":
		return filepath.Dir(file)
	}
	return "."
}

// dockerfileOf is -f, else PATH/Dockerfile (PATH defaults to ".").
func dockerfileOf(args []string, file string) string {
	if file != "" {
		return file
	}
	dir := "."
	if len(args) == 1 {
		dir = args[0]
	}
	return filepath.Join(dir, "Dockerfile")
}
