package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kiln-build/kiln/internal/config"
	"github.com/kiln-build/kiln/internal/isolation"
	"github.com/kiln-build/kiln/internal/store"
)

// isolationChoice is the mode a command runs in, and what it was decided from.
type isolationChoice struct {
	isolation.Decision
	Facts  isolation.Facts
	Config *config.Config
}

// storeRoot is --root or the default store of this user.
func (g *globalFlags) storeRoot() string {
	if g.root != "" {
		return g.root
	}
	return store.DefaultRoot()
}

// requestedIsolation is --isolation, else kiln.toml's isolation, else auto.
func (g *globalFlags) requestedIsolation(cfg *config.Config) (isolation.Mode, error) {
	s := g.isolation
	if s == "" && cfg != nil {
		s = cfg.Isolation
	}
	m, err := isolation.ParseMode(s)
	if err != nil {
		return "", usageError{fmt.Errorf("--isolation: %w", err)}
	}
	return m, nil
}

// decideIsolation probes the machine and picks the mode. The error says
// why no mode (or not the one asked for) can run here.
func (g *globalFlags) decideIsolation() (isolationChoice, error) {
	var c isolationChoice
	cfg, err := config.Load(g.config)
	if err != nil {
		return c, err
	}
	c.Config = cfg
	want, err := g.requestedIsolation(cfg)
	if err != nil {
		return c, err
	}
	c.Facts, err = isolation.Probe(g.storeRoot())
	if err != nil {
		return c, err
	}
	c.Decision, err = isolation.Decide(want, c.Facts)
	return c, err
}

// requireIsolation is the gate of the commands that mount and run. A
// plain user re-enters kiln in a user namespace: the command then ran
// there, and the returned error carries its exit status. Modes kiln
// cannot run yet are refused, naming them.
func (g *globalFlags) requireIsolation(ctx context.Context) (isolation.Mode, error) {
	c, err := g.decideIsolation()
	if err != nil {
		return "", err
	}
	return c.require(ctx)
}

// require is requireIsolation for a choice already made.
func (c isolationChoice) require(ctx context.Context) (isolation.Mode, error) {
	if c.Enter {
		code, err := isolation.Enter(ctx, c.Facts)
		if err != nil {
			return "", err
		}
		return "", childExit{code}
	}
	switch c.Mode {
	case isolation.Root, isolation.Rootless, isolation.RootlessNoProc, isolation.Container:
		return c.Mode, nil
	}
	return "", &isolation.Error{Mode: c.Mode, Unsupported: true}
}

// childExit is the exit status of kiln re-entered in a user namespace,
// which reported its own errors.
type childExit struct{ code int }

func (c childExit) Error() string {
	return fmt.Sprintf("kiln in the user namespace exited with code %d", c.code)
}

// storeless commands never touch the store, so they run where they start.
var storeless = map[string]bool{"info": true, "version": true, "check": true, "graph": true, "login": true, "logout": true, "help": true, "completion": true}

// enterForStore re-enters a plain user's store commands in their user
// namespace, where the store's files have the owners they were written
// with. Where no mode works, the command runs as it is: reading the store
// may still work. build and run decide for themselves (requireIsolation).
func (g *globalFlags) enterForStore(cmd *cobra.Command) error {
	for c := cmd; c != nil; c = c.Parent() {
		if storeless[c.Name()] || c.Name() == "build" || c.Name() == "run" {
			return nil
		}
	}
	c, err := g.decideIsolation()
	if err != nil || !c.Enter {
		return nil
	}
	code, err := isolation.Enter(cmd.Context(), c.Facts)
	if err != nil {
		return err
	}
	return childExit{code}
}
