package cli

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/kiln-build/kiln/internal/bake"
)

// A bake target's entitlements reach its build as --allow would, so its
// RUN --network=host or --security=insecure is granted.
func TestBakeTargetEntitlements(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	target := &bake.Target{Context: &dir, Entitlements: []string{"security.insecure", "network.host"}}
	job, err := bakeJobFor("app", target, &globalFlags{}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if allow := job.opts.Run.Allow; !allow["security.insecure"] || !allow["network.host"] {
		t.Errorf("build's entitlements %v, want the target's", allow)
	}
	target.Entitlements = []string{"device"}
	if _, err := bakeJobFor("app", target, &globalFlags{}, t.TempDir()); err == nil {
		t.Error("entitlement device: want an error")
	}
	target.Entitlements = nil
	job, err = bakeJobFor("app", target, &globalFlags{}, t.TempDir())
	if err != nil || len(job.opts.Run.Allow) != 0 {
		t.Errorf("no entitlements: %v, %v", job.opts.Run.Allow, err)
	}
}
