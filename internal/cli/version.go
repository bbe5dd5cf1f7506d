package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Version is kiln's version, set at link time
// (-ldflags "-X github.com/kiln-build/kiln/internal/cli.Version=v1.2.3");
// otherwise the main module's version from the build info.
var Version = ""

const buildkitModule = "github.com/moby/buildkit"

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Show kiln's version and the BuildKit version it matches",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			info, _ := debug.ReadBuildInfo()
			kiln, bk := versions(info)
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "kiln %s\n", kiln)
			fmt.Fprintf(w, "buildkit %s (Dockerfile frontend, parser and linter; behaviour matches this release)\n", bk)
			fmt.Fprintf(w, "go %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return nil
		},
	}
}

// versions reads kiln's version and the buildkit module's from the build
// info ("unknown" where it does not tell).
func versions(info *debug.BuildInfo) (kiln, buildkit string) {
	kiln, buildkit = Version, "unknown"
	if info == nil {
		if kiln == "" {
			kiln = "unknown"
		}
		return kiln, buildkit
	}
	if kiln == "" {
		kiln = info.Main.Version
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && (kiln == "" || kiln == "(devel)") {
				kiln = "(devel) " + s.Value
			}
		}
	}
	if kiln == "" {
		kiln = "(devel)"
	}
	for _, d := range info.Deps {
		if d.Path == buildkitModule {
			buildkit = d.Version
			if d.Replace != nil {
				buildkit = d.Replace.Version
			}
		}
	}
	return kiln, buildkit
}
