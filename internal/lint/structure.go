package lint

import (
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// reservedStageNames are the names BuildKit's ReservedStageName rejects:
// they already mean something in FROM and --from.
var reservedStageNames = map[string]bool{"context": true, "scratch": true}

// structure runs the rules BuildKit checks on the whole file before
// converting it, in its order: NoEmptyContinuation (from the parser's
// warnings), then stage names, then instruction casing.
func (c *checker) structure() {
	for _, w := range c.df.AST.Warnings {
		if w.URL == linter.RuleNoEmptyContinuation.URL && w.Location != nil {
			c.lint.Run(&linter.RuleNoEmptyContinuation, []parser.Range{*w.Location}, linter.RuleNoEmptyContinuation.Format())
		}
	}
	c.stageNames()
	c.casing()
}

func (c *checker) stageNames() {
	seen := map[string]bool{}
	for _, st := range c.df.Stages {
		if st.Name == "" {
			continue
		}
		if reservedStageNames[st.Name] {
			c.lint.Run(&linter.RuleReservedStageName, st.Location, linter.RuleReservedStageName.Format(st.Name))
		}
		if seen[st.Name] {
			c.lint.Run(&linter.RuleDuplicateStageName, st.Location, linter.RuleDuplicateStageName.Format(st.Name))
		}
		seen[st.Name] = true
	}
}

// casing reports instructions whose keyword is mixed-case, or whose case
// differs from the majority of the file's consistently cased keywords.
func (c *checker) casing() {
	lower, upper := 0, 0
	count := func(name string) {
		switch {
		case name == strings.ToLower(name):
			lower++
		case name == strings.ToUpper(name):
			upper++
		}
	}
	for _, st := range c.df.Stages {
		count(st.OrigCmd)
		for _, cmd := range st.Commands {
			count(cmd.Name())
		}
	}
	majorityLower := lower > upper
	check := func(name string, loc []parser.Range) {
		want := ""
		if majorityLower && name != strings.ToLower(name) {
			want = "lowercase"
		} else if !majorityLower && name != strings.ToUpper(name) {
			want = "uppercase"
		}
		if want != "" {
			c.lint.Run(&linter.RuleConsistentInstructionCasing, loc, linter.RuleConsistentInstructionCasing.Format(name, want))
		}
	}
	for _, st := range c.df.Stages {
		check(st.OrigCmd, st.Location)
		for _, cmd := range st.Commands {
			check(cmd.Name(), cmd.Location())
		}
	}
}

// legacyKeyValue reports each ENV or LABEL pair written `key value`
// instead of `key=value`, once per pair as BuildKit does.
func (c *checker) legacyKeyValue(cmd instructions.Command) {
	var pairs instructions.KeyValuePairs
	switch cmd := cmd.(type) {
	case *instructions.EnvCommand:
		pairs = cmd.Env
	case *instructions.LabelCommand:
		pairs = cmd.Labels
	}
	for _, kv := range pairs {
		if kv.NoDelim {
			c.lint.Run(&linter.RuleLegacyKeyValueFormat, cmd.Location(), linter.RuleLegacyKeyValueFormat.Format(cmd.Name()))
		}
	}
}
