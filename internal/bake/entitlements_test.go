package bake

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEntitlements(t *testing.T) {
	wd := t.TempDir()
	outside := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(wd, "escape")); err != nil {
		t.Fatal(err)
	}
	str := func(s string) *string { return &s }
	targets := map[string]*Target{
		"in":   {Context: str(wd), Dockerfile: str("Dockerfile"), Outputs: Exports{{Type: "local", Dest: filepath.Join(wd, "out")}}},
		"out":  {Context: str(outside), Dockerfile: str("Dockerfile")},
		"link": {Context: str(wd), Dockerfile: str("Dockerfile"), Outputs: Exports{{Type: "local", Dest: filepath.Join(wd, "escape", "x")}}},
		"net":  {Context: str(wd), Dockerfile: str("Dockerfile"), NetworkMode: str("host")},
	}
	e, err := ParseEntitlements(nil, wd)
	if err != nil {
		t.Fatal(err)
	}
	err = e.Check(targets)
	if err == nil {
		t.Fatal("paths outside the working directory were allowed without --allow")
	}
	for _, want := range []string{
		"--allow=fs.read=" + outside + " (target out: context)",
		"--allow=fs.write=" + filepath.Join(wd, "escape", "x") + " (target link: output)",
		"--allow=network.host (target net: network=host)",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "target in:") {
		t.Errorf("paths inside the working directory were refused:\n%v", err)
	}
	e, err = ParseEntitlements([]string{"fs.read=" + outside, "fs.write=" + outside, "network.host"}, wd)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Check(targets); err != nil {
		t.Errorf("with --allow: %v", err)
	}
	if _, err := ParseEntitlements([]string{"device=/dev/kvm"}, wd); err == nil {
		t.Error("an entitlement kiln cannot honour was accepted")
	}
	t.Setenv("BUILDX_BAKE_ENTITLEMENTS_FS", "0")
	e, _ = ParseEntitlements([]string{"network.host"}, wd)
	if err := e.Check(targets); err != nil {
		t.Errorf("BUILDX_BAKE_ENTITLEMENTS_FS=0 still checks paths: %v", err)
	}
}
