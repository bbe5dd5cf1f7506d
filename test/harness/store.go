package harness

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Store is a kiln store (--root) of one test, with the kiln.toml and
// environment its kiln invocations get.
type Store struct {
	Root   string
	Config string   // --config for Run and MustRun; "" for none
	Env    []string // added to every invocation's environment
}

// NewStore makes a private store in a temp dir of t holding bases. It
// skips t unless the machine can run kiln's builds (and make the bases).
func NewStore(t testing.TB, bases ...*Base) *Store {
	t.Helper()
	return NewStoreAt(t, filepath.Join(t.TempDir(), "store"), bases...)
}

// NewStoreAt is NewStore at root (made if missing). The bases' files are
// hard links to their read-only templates, or copies when root is on
// another file system.
func NewStoreAt(t testing.TB, root string, bases ...*Base) *Store {
	t.Helper()
	Require(t)
	for _, b := range bases {
		b.ensure(t)
		if err := cloneStore(b.store, root); err != nil {
			t.Fatal(err)
		}
	}
	return &Store{Root: root}
}

// Opts returns the options of an invocation on s.
func (s *Store) Opts() Opts {
	return Opts{Root: s.Root, Config: s.Config, Env: s.Env}
}

// WithConfig returns s with the kiln.toml cfg ("" for none).
func (s *Store) WithConfig(cfg string) *Store {
	c := *s
	c.Config = cfg
	return &c
}

// Run runs kiln on s (see Run).
func (s *Store) Run(t testing.TB, args ...string) Result {
	t.Helper()
	return Run(t, s.Opts(), args...)
}

// MustRun runs kiln on s and fails t unless it exits 0.
func (s *Store) MustRun(t testing.TB, args ...string) Result {
	t.Helper()
	return MustRun(t, s.Opts(), args...)
}

// Command returns kiln on s, not started (see Command).
func (s *Store) Command(t testing.TB, args ...string) *exec.Cmd {
	t.Helper()
	return Command(t, s.Opts(), args...)
}

// Verify fails t unless `kiln store verify` finds s consistent.
func (s *Store) Verify(t testing.TB) {
	t.Helper()
	r := s.Run(t, "store", "verify")
	if r.Code != 0 || !strings.Contains(r.Stdout, "consistent") {
		t.Fatalf("kiln store verify:\n%s", r)
	}
}
