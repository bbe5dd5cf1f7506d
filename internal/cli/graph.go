package cli

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/containerd/platforms"
	"github.com/spf13/cobra"

	"github.com/kiln-build/kiln/internal/buildctx"
	"github.com/kiln-build/kiln/internal/dockerfile"
	"github.com/kiln-build/kiln/internal/plan"
)

func newGraphCmd() *cobra.Command {
	var file, format string
	var targets, platformValues, buildArgs []string
	cmd := &cobra.Command{
		Use:   "graph [-f Dockerfile] [--target T]... [--platform P]... [--format dot|mermaid|json] [PATH]",
		Short: "Print the stage graph of a Dockerfile for a target, with the pruned stages",
		Long: `--format json gives the pruned stage DAG with each target's platforms and
each stage's deps and platforms, for an orchestrator to schedule from
(docs/scale-out.md). Several --target (json only) merge their graphs.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			file := dockerfileOf(args, file)
			src, err := buildctx.ReadDockerfile(file, file)
			if err != nil {
				return err
			}
			df, err := dockerfile.Parse(file, src)
			if err != nil {
				return err
			}
			host := platforms.Normalize(platforms.DefaultSpec())
			o := graphOptions{targets: targets, buildArgs: graphBuildArgs(buildArgs), host: host}
			if len(o.targets) == 0 {
				o.targets = []string{""}
			}
			if o.platforms, err = graphPlatforms(platformValues, host); err != nil {
				return err
			}
			if format == "json" {
				g, err := buildGraph(df, o)
				if err != nil {
					return err
				}
				return writeJSON(cmd.OutOrStdout(), g)
			}
			if len(o.targets) > 1 || len(o.platforms) > 1 {
				return usageError{fmt.Errorf("several --target or --platform values need --format json")}
			}
			p, err := plan.New(df, plan.Options{Target: o.targets[0], BuildArgs: o.buildArgs, BuildPlatform: host, TargetPlatform: o.platforms[0]})
			if err != nil {
				return err
			}
			switch format {
			case "dot":
				writeDot(cmd.OutOrStdout(), p)
			case "mermaid":
				writeMermaid(cmd.OutOrStdout(), p)
			default:
				return usageError{fmt.Errorf("unknown --format %q (dot, mermaid, json)", format)}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "the Dockerfile (default: PATH/Dockerfile)")
	cmd.Flags().StringArrayVar(&targets, "target", nil, "target stage (default: the last; repeatable with --format json)")
	cmd.Flags().StringArrayVar(&platformValues, "platform", nil, "target platforms, comma-separated (default: this machine's)")
	cmd.Flags().StringArrayVar(&buildArgs, "build-arg", nil, "a build-time variable (K=V, or K from the environment), as for build")
	cmd.Flags().StringVar(&format, "format", "dot", "dot, mermaid or json")
	return cmd
}

// graphBuildArgs reads --build-arg as build does.
func graphBuildArgs(values []string) map[string]string {
	out := map[string]string{}
	for _, a := range values {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			if v, ok = os.LookupEnv(k); !ok {
				continue
			}
		}
		out[k] = v
	}
	return out
}

func pruned(p *plan.Plan, s *plan.Stage) bool {
	for _, x := range p.Pruned {
		if x == s {
			return true
		}
	}
	return false
}

func baseLabel(s *plan.Stage) string {
	if s.Base.Stage == nil {
		return s.Base.String()
	}
	return ""
}

func writeDot(w io.Writer, p *plan.Plan) {
	fmt.Fprintln(w, "digraph stages {\n  rankdir=LR;")
	for _, s := range p.Stages {
		style := ""
		if pruned(p, s) {
			style = ", style=dashed, color=gray"
		} else if s == p.Target {
			style = ", style=bold"
		}
		label := s.DisplayName()
		if b := baseLabel(s); b != "" {
			label += "\nFROM " + b
		}
		fmt.Fprintf(w, "  s%d [label=%q%s];\n", s.Index, label, style)
		for _, d := range s.Deps {
			fmt.Fprintf(w, "  s%d -> s%d;\n", d.Index, s.Index)
		}
	}
	fmt.Fprintln(w, "}")
}

func writeMermaid(w io.Writer, p *plan.Plan) {
	fmt.Fprintln(w, "graph LR")
	for _, s := range p.Stages {
		label := s.DisplayName()
		if pruned(p, s) {
			label += " (pruned)"
		}
		fmt.Fprintf(w, "  s%d[\"%s\"]\n", s.Index, label)
		for _, d := range s.Deps {
			fmt.Fprintf(w, "  s%d --> s%d\n", d.Index, s.Index)
		}
	}
}
