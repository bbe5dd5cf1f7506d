package buildctx

import (
	"strings"
	"testing"
)

func FuzzExcluded(f *testing.F) {
	f.Add("node_modules\n*.log\n!keep.log", "node_modules/a/b.js", true)
	f.Add("**/*.tmp\n!a/**", "a/b/c.tmp", false)
	f.Add("[a-\n\\", "a", false)
	f.Add("docs/**\n!docs/README.md", "docs/README.md", false)
	f.Add("/abs/../x\n!", "../x", true)
	f.Fuzz(func(t *testing.T, patterns, rel string, isDir bool) {
		c := &Context{Ignore: strings.Split(patterns, "\n")}
		got := c.Excluded(rel, isDir)
		c2 := &Context{Ignore: strings.Split(patterns, "\n")}
		if again := c2.Excluded(rel, isDir); again != got {
			t.Fatalf("not deterministic: %v then %v", got, again)
		}
		if again := c.Excluded(rel, isDir); again != got {
			t.Fatalf("second call differs: %v then %v", got, again)
		}
		if c.Excluded(".", true) || c.Excluded("", true) {
			t.Fatal("context root excluded")
		}
	})
}
