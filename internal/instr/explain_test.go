package instr

import (
	"strings"
	"testing"

	digest "github.com/opencontainers/go-digest"

	"github.com/kiln-build/kiln/internal/cachekey"
)

func TestDiffKeysNamesTheChangedInput(t *testing.T) {
	base := cachekey.Step{
		Parent: digest.FromString("p"), Op: "run", Args: []string{"sh", "-c", "make"},
		Env: []string{"A=1", "B=2"}, Inputs: []cachekey.Input{{Name: "sources", Digest: digest.FromString("x")}},
	}
	cases := map[string]struct {
		change func(*cachekey.Step)
		want   string
	}{
		"parent":  {func(s *cachekey.Step) { s.Parent = digest.FromString("q") }, "an earlier step or the base image changed"},
		"args":    {func(s *cachekey.Step) { s.Args = []string{"sh", "-c", "make all"} }, `"sh -c make" → "sh -c make all"`},
		"env":     {func(s *cachekey.Step) { s.Env = []string{"A=1", "B=3"} }, `variable B changed: "2" → "3"`},
		"added":   {func(s *cachekey.Step) { s.Env = append(s.Env, "C=1") }, "variable C was added"},
		"removed": {func(s *cachekey.Step) { s.Env = s.Env[:1] }, "variable B was removed"},
		"files":   {func(s *cachekey.Step) { s.Inputs = []cachekey.Input{{Name: "sources", Digest: digest.FromString("y")}} }, "the files it copies changed"},
		"none":    {func(*cachekey.Step) {}, "inputs are unchanged"},
	}
	for name, c := range cases {
		cur := base
		cur.Env = append([]string(nil), base.Env...)
		c.change(&cur)
		if got := diffKeys(base, cur); !strings.Contains(got, c.want) {
			t.Errorf("%s: got %q, want it to contain %q", name, got, c.want)
		}
	}
}

func TestDiffFilesNamesChangedFiles(t *testing.T) {
	old := map[string]string{"a": "1", "b": "2", "gone": "3"}
	cur := map[string]string{"a": "1", "b": "2x", "new": "4"}
	if got := diffFiles(old, cur); got != "copied files: added new, changed b, removed gone" {
		t.Fatalf("got %q", got)
	}
	if diffFiles(nil, cur) != "" {
		t.Fatal("no earlier file list must give no file explanation")
	}
}
