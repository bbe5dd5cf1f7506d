package cli

import (
	"fmt"

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

// requireIsolation is the gate of the commands that mount and run: it
// refuses the modes kiln cannot run yet, naming them.
func (g *globalFlags) requireIsolation() error {
	c, err := g.decideIsolation()
	if err != nil {
		return err
	}
	if c.Mode != isolation.Root {
		return &isolation.Error{Mode: c.Mode, Unsupported: true}
	}
	return nil
}
