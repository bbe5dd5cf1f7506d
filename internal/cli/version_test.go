package cli

import (
	"runtime/debug"
	"testing"
)

func TestVersionsFromBuildInfo(t *testing.T) {
	info := &debug.BuildInfo{
		Main: debug.Module{Path: "github.com/kiln-build/kiln", Version: "v0.3.0"},
		Deps: []*debug.Module{
			{Path: "github.com/moby/buildkit", Version: "v0.34.2"},
			{Path: "github.com/spf13/cobra", Version: "v1.8.0"},
		},
	}
	if k, b := versions(info); k != "v0.3.0" || b != "v0.34.2" {
		t.Errorf("versions = %q, %q", k, b)
	}
	info.Main.Version = "(devel)"
	info.Settings = []debug.BuildSetting{{Key: "vcs.revision", Value: "abc123"}}
	info.Deps[0].Replace = &debug.Module{Path: "github.com/moby/buildkit", Version: "v0.34.3-fork"}
	if k, b := versions(info); k != "(devel) abc123" || b != "v0.34.3-fork" {
		t.Errorf("versions = %q, %q", k, b)
	}
}
