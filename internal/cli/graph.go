package cli

import (
	"fmt"
	"io"
	"os"

	"github.com/containerd/platforms"
	"github.com/spf13/cobra"

	"github.com/kiln-build/kiln/internal/dockerfile"
	"github.com/kiln-build/kiln/internal/plan"
)

func newGraphCmd() *cobra.Command {
	var file, target, format string
	cmd := &cobra.Command{
		Use:   "graph [-f Dockerfile] [--target T] [--format dot|mermaid] [PATH]",
		Short: "Print the stage graph of a Dockerfile for a target, with the pruned stages",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			file := dockerfileOf(args, file)
			src, err := os.ReadFile(file)
			if err != nil {
				return err
			}
			df, err := dockerfile.Parse(file, src)
			if err != nil {
				return err
			}
			host := platforms.Normalize(platforms.DefaultSpec())
			p, err := plan.New(df, plan.Options{Target: target, BuildPlatform: host, TargetPlatform: host})
			if err != nil {
				return err
			}
			switch format {
			case "dot":
				writeDot(cmd.OutOrStdout(), p)
			case "mermaid":
				writeMermaid(cmd.OutOrStdout(), p)
			default:
				return usageError{fmt.Errorf("unknown --format %q (dot, mermaid)", format)}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "the Dockerfile (default: PATH/Dockerfile)")
	cmd.Flags().StringVar(&target, "target", "", "target stage (default: the last)")
	cmd.Flags().StringVar(&format, "format", "dot", "dot or mermaid")
	return cmd
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
