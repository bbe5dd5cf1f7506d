package cachekey

import (
	"testing"

	digest "github.com/opencontainers/go-digest"
)

func base() Step {
	return Step{
		Parent:   digest.FromString("parent"),
		Platform: "linux/amd64",
		Op:       "run",
		Args:     []string{"/bin/sh", "-c", "make"},
		Env:      []string{"A=1"},
		WorkDir:  "/app",
		User:     "1001",
		Network:  "default",
		Inputs:   []Input{{Name: "context:.", Digest: digest.FromString("ctx")}},
		Mounts:   []Mount{{Type: "cache", Target: "/root/.npm"}},
	}
}

// Every input, changed alone, changes the key.
func TestEveryInputChangesKey(t *testing.T) {
	cases := map[string]func(*Step){
		"parent":        func(s *Step) { s.Parent = digest.FromString("other") },
		"platform":      func(s *Step) { s.Platform = "linux/arm64" },
		"op":            func(s *Step) { s.Op = "copy" },
		"args":          func(s *Step) { s.Args = []string{"/bin/sh", "-c", "make all"} },
		"args split":    func(s *Step) { s.Args = []string{"/bin/sh", "-c make"} },
		"env":           func(s *Step) { s.Env = []string{"A=2"} },
		"env added":     func(s *Step) { s.Env = append(s.Env, "B=1") },
		"workdir":       func(s *Step) { s.WorkDir = "/src" },
		"user":          func(s *Step) { s.User = "0" },
		"network":       func(s *Step) { s.Network = "none" },
		"input digest":  func(s *Step) { s.Inputs[0].Digest = digest.FromString("ctx2") },
		"input name":    func(s *Step) { s.Inputs[0].Name = "context:src" },
		"mount target":  func(s *Step) { s.Mounts[0].Target = "/root/.cache" },
		"mount type":    func(s *Step) { s.Mounts[0].Type = "tmpfs" },
		"mount options": func(s *Step) { s.Mounts[0].Options = []string{"sharing=locked"} },
		"mount ro":      func(s *Step) { s.Mounts[0].Readonly = true },
		"mount source":  func(s *Step) { s.Mounts[0].Source = digest.FromString("x") },
		"options":       func(s *Step) { s.Options = []string{"add-host=a:1.2.3.4"} },
	}
	want := base().Digest()
	for name, change := range cases {
		s := base()
		s.Inputs = append([]Input(nil), s.Inputs...)
		s.Mounts = append([]Mount(nil), s.Mounts...)
		change(&s)
		if s.Digest() == want {
			t.Errorf("%s: changing it kept the key", name)
		}
	}
}

// The same inputs always give the same key (no maps, no randomness).
func TestKeyIsStable(t *testing.T) {
	if a, b := base().Digest(), base().Digest(); a != b {
		t.Fatal("key differs between two encodings of the same step")
	}
	// Pinned: a change of encoding must come with a version bump.
	const pinned = "sha256:94eebf4d684e4954a87500c1a298b14a6246e7f90fdabc791038434cf9a80e12"
	if got := base().Digest(); got != pinned {
		t.Fatalf("key encoding changed: got %s, want %s (bump version if intended)", got, pinned)
	}
}

func TestBaseKeyDependsOnPlatformAndImage(t *testing.T) {
	a := Base(digest.FromString("m"), "linux/amd64")
	if a == Base(digest.FromString("m"), "linux/arm64") || a == Base(digest.FromString("n"), "linux/amd64") {
		t.Fatal("base key ignores an input")
	}
}
