package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/containerd/platforms"
	"github.com/spf13/cobra"

	"github.com/kiln-build/kiln/internal/buildctx"
	"github.com/kiln-build/kiln/internal/dockerfile"
	"github.com/kiln-build/kiln/internal/lint"
	"github.com/kiln-build/kiln/internal/store"
)

func newCheckCmd() *cobra.Command {
	var file, format string
	cmd := &cobra.Command{
		Use:   "check [-f Dockerfile] [PATH | -]",
		Short: "Lint a Dockerfile without building it",
		Long: `Lint a Dockerfile without building it.

PATH is the build context; its .dockerignore (or <Dockerfile>.dockerignore)
is read for the CopyIgnoredFile rule. It defaults to the directory of -f,
else the current directory. As with kiln build, "-f -" reads the Dockerfile
from standard input (PATH still defaults to the current directory), and a
PATH of "-" reads the context as a tar (plain or compressed) from standard
input, with the Dockerfile (or -f) inside it.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCheck(cmd, contextOf(args, file), file, format)
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "the Dockerfile (default: PATH/Dockerfile; - reads it from standard input)")
	cmd.Flags().StringVar(&format, "format", "text", "output: text or json")
	return cmd
}

// checkInput is what runCheck lints: the Dockerfile, the context whose
// ignore file it reads, and the name findings carry.
type checkInput struct {
	contextDir, file, name string
}

// checkInputs stages a Dockerfile or a context given on standard input
// (kiln check and kiln build --check); file "" is PATH/Dockerfile.
func checkInputs(cmd *cobra.Command, contextDir, file string) (checkInput, func(), error) {
	dir, staged, cleanup, err := stdinInputs(cmd.Context(), cmd.InOrStdin(), contextDir, file, nil)
	if err != nil {
		return checkInput{}, nil, err
	}
	in := checkInput{contextDir: dir, file: staged, name: staged}
	switch {
	case file == "-":
		in.name = "<stdin>"
	case contextDir == "-":
		if in.file == "" {
			in.file = filepath.Join(dir, "Dockerfile")
		}
		in.name = in.file
		if rel, err := filepath.Rel(dir, in.file); err == nil && filepath.IsLocal(rel) {
			in.name = rel // as named inside the tar
		}
	case in.file == "":
		in.file = filepath.Join(dir, "Dockerfile")
		in.name = in.file
	}
	return in, cleanup, nil
}

// runCheck lints one Dockerfile and prints the findings (kiln check and
// kiln build --check). contextDir is PATH ("-": a tar on standard input);
// file is -f ("-": standard input; "": PATH/Dockerfile).
func runCheck(cmd *cobra.Command, contextDir, file, format string) error {
	in, cleanup, err := checkInputs(cmd, contextDir, file)
	if err != nil {
		return err
	}
	defer cleanup()
	src, err := buildctx.ReadDockerfile(in.file, in.name) // in.name: not the staging directory's path
	if err != nil {
		return err
	}
	df, err := dockerfile.Parse(in.name, src)
	if err != nil {
		return err
	}
	bctx, err := buildctx.Load(in.contextDir, in.file)
	if err != nil {
		return err
	}
	opts := lint.Options{Ignore: bctx.Ignore, BaseEnv: lint.StoreEnv(checkStoreRoot(cmd))}
	if err := checkBuildFlags(cmd, &opts); err != nil {
		return err
	}
	res := lint.Run(df, opts)
	findings := res.Findings
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
	if res.Err != nil {
		// The build would stop here: the check must not pass.
		return res.Err
	}
	if len(findings) > 0 && lint.ErrorsOn(df) {
		return fmt.Errorf("%d findings and the Dockerfile says check=error=true", len(findings))
	}
	return nil
}

// checkStoreRoot is --root, else the default store: lint reads the
// config of the base images already there (never the network).
func checkStoreRoot(cmd *cobra.Command) string {
	if f := cmd.Flag("root"); f != nil && f.Value.String() != "" {
		return f.Value.String()
	}
	return store.DefaultRoot()
}

// checkBuildFlags gives lint what kiln build --check has beyond kiln check:
// --build-arg values, the first --platform and the --build-context names
// (kiln check defines none of these flags).
func checkBuildFlags(cmd *cobra.Command, o *lint.Options) error {
	fl := cmd.Flags()
	if values, err := fl.GetStringArray("build-arg"); err == nil && len(values) > 0 {
		o.BuildArgs = map[string]string{}
		for _, a := range values {
			k, v, ok := strings.Cut(a, "=")
			if !ok {
				if v, ok = os.LookupEnv(k); !ok {
					continue // as kiln build: a bare name absent from the environment is ignored
				}
			}
			o.BuildArgs[k] = v
		}
	}
	if values, err := fl.GetStringArray("platform"); err == nil {
	first:
		for _, v := range values {
			for _, s := range strings.Split(v, ",") {
				if s = strings.TrimSpace(s); s == "" {
					continue
				}
				p, err := platforms.Parse(s)
				if err != nil {
					return fmt.Errorf("invalid --platform %q: %w", s, err)
				}
				p = platforms.Normalize(p)
				o.Platform = &p
				break first
			}
		}
	}
	if values, err := fl.GetStringArray("build-context"); err == nil && len(values) > 0 {
		contexts, err := namedContexts(values)
		if err != nil {
			return err
		}
		o.BaseEnv = o.BaseEnv.WithContexts(contexts)
	}
	return nil
}

// contextOf is PATH, else the directory of -f (unless it is "-", standard
// input), else ".".
func contextOf(args []string, file string) string {
	switch {
	case len(args) == 1:
		return args[0]
	case file != "" && file != "-":
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
