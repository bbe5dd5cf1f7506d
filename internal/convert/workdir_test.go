package convert

import (
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-build/kiln/internal/image"
)

func TestWorkdir(t *testing.T) {
	s := newState()
	for _, tc := range []struct {
		line, want string
		mkdir      bool
	}{
		{"WORKDIR /app", "/app", true},
		{"WORKDIR src/../lib", "/app/lib", true}, // relative to the current one, cleaned
		{"WORKDIR /", "/", false},                // no layer, only history
		{"WORKDIR /a/../b/", "/a/../b/", true},   // absolute: kept as written, as BuildKit
	} {
		cmds := commands(t, tc.line+"\n")
		if err := Expand("Dockerfile", s.Escape, cmds[0], s.ExpandEnv()); err != nil {
			t.Fatal(err)
		}
		h := len(s.Img.Config.History)
		dir, mkdir := Workdir(s, cmds[0].(*instructions.WorkdirCommand))
		if dir != tc.want || mkdir != tc.mkdir || s.WorkDir() != tc.want {
			t.Errorf("%s: dir %q mkdir %v (config %q), want %q %v", tc.line, dir, mkdir, s.WorkDir(), tc.want, tc.mkdir)
		}
		if added := len(s.Img.Config.History) - h; added != map[bool]int{true: 0, false: 1}[tc.mkdir] {
			t.Errorf("%s: %d history entries added", tc.line, added)
		}
	}
	convert(t, s, "ENV D=/data\nWORKDIR $D/x\n")
	if s.WorkDir() != "/data/x" {
		t.Errorf("WORKDIR $D/x = %q", s.WorkDir())
	}
	if got := s.ResolvePath("out/"); got != "/data/x/out/" {
		t.Errorf("ResolvePath keeps the trailing slash: %q", got)
	}
}

// A Windows target's config keeps backslashes (BuildKit's NormalizeWorkdir);
// the steps and history use the Dockerfile's slashes.
func TestWorkdirWindows(t *testing.T) {
	s := &State{Img: image.New(ocispec.Platform{OS: "windows", Architecture: "amd64"}), Escape: '\\', Epoch: epoch}
	convert(t, s, "WORKDIR /app\nWORKDIR src\n")
	if got := s.Img.Config.Config.WorkingDir; got != `\app\src` {
		t.Errorf("config WorkingDir %q, want \\app\\src", got)
	}
	if s.WorkDir() != "/app/src" {
		t.Errorf("WorkDir %q", s.WorkDir())
	}
}
