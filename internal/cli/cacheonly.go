package cli

import (
	"bytes"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kiln-build/kiln/internal/session"
)

// answeredFromCache tries a plain user's build from the cache alone,
// before entering the user namespace (session.Options.CacheOnly): a no-op
// rebuild then starts kiln once, not twice after newuidmap and newgidmap.
// The progress is held back and shown only when the build succeeded; on
// any failure (a step to run, something to mount, an error) nothing is
// shown and the build runs in the namespace as usual, so it reports its
// own errors. Standard input is never read here: it can be read once.
func answeredFromCache(cmd *cobra.Command, c isolationChoice, g *globalFlags, f *buildFlags, contextArg string) bool {
	if !c.Enter || contextArg == "-" || f.file == "-" || f.verify {
		return false
	}
	o, err := f.options(contextArg, g)
	if err != nil || !o.CacheOnlyCandidate() {
		return false
	}
	var held bytes.Buffer
	o.Out, o.Isolation, o.CacheOnly = &held, c.Mode, true
	o.ContextOwners = c.Facts.OwnersInside()
	res, err := session.Run(cmd.Context(), o)
	if err != nil {
		return false
	}
	_, _ = cmd.ErrOrStderr().Write(held.Bytes())
	if f.quiet {
		fmt.Fprintln(cmd.OutOrStdout(), res.Descriptor.Digest)
	}
	return true
}
