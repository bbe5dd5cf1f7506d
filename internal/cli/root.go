// Package cli defines kiln's commands: flags to options, no build logic.
package cli

import (
	"github.com/spf13/cobra"
)

// globalFlags are shared by every command.
type globalFlags struct {
	root      string
	config    string
	isolation string
}

// New returns the root command.
func New() *cobra.Command {
	g := &globalFlags{}
	cmd := &cobra.Command{
		Use:           "kiln",
		Short:         "Build OCI images from Dockerfiles, without a daemon",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	cmd.PersistentPreRunE = func(c *cobra.Command, _ []string) error { return g.enterForStore(c) }
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	cmd.PersistentFlags().StringVar(&g.root, "root", "", "store directory (default /var/lib/kiln as root)")
	cmd.PersistentFlags().StringVar(&g.isolation, "isolation", "", "how RUN is isolated: auto, root, rootless, rootless-noproc, container (default kiln.toml's isolation, else auto)")
	cmd.PersistentFlags().StringVar(&g.config, "config", "", "kiln.toml (default $KILN_CONFIG, $XDG_CONFIG_HOME/kiln/kiln.toml, /etc/kiln/kiln.toml)")
	cmd.AddCommand(newBuildCmd(g), newBakeCmd(g), newImportCmd(g), newImagesCmd(g), newTagCmd(g), newRmiCmd(g), newPullCmd(g), newPushCmd(g), newSaveCmd(g), newManifestCmd(g), newRunCmd(g),
		newDuCmd(g), newPruneCmd(g), newStoreCmd(g), newCheckCmd(),
		newInspectCmd(g), newGraphCmd(), newLoginCmd(g), newLogoutCmd(), newImagetoolsCmd(g), newInfoCmd(g), newVersionCmd())
	return cmd
}
