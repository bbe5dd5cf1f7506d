package lint

import (
	"fmt"
	"strings"
	"testing"

	"github.com/kiln-build/kiln/internal/dockerfile"
)

// buildkitFindings lists BuildKit's rules only, as "file:line: Rule: message".
func buildkitFindings(t *testing.T, src string) []string {
	t.Helper()
	df, err := dockerfile.Parse("Dockerfile", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range Check(df) {
		if IsBuildKitRule(f.Rule) {
			out = append(out, fmt.Sprintf("%s:%d: %s: %s", f.File, f.Line, f.Rule, f.Message))
		}
	}
	return out
}

func TestStructureRules(t *testing.T) {
	for name, tc := range map[string]struct {
		src  string
		want []string
	}{
		"ConsistentInstructionCasing majority upper": {
			"FROM scratch\nCopy a /a\nenv X=1\n",
			[]string{
				"Dockerfile:2: ConsistentInstructionCasing: Command 'Copy' should match the case of the command majority (uppercase)",
				"Dockerfile:3: ConsistentInstructionCasing: Command 'env' should match the case of the command majority (uppercase)",
			},
		},
		"ConsistentInstructionCasing majority lower": {
			"from scratch\ncopy a /a\nENV X=1\n",
			[]string{"Dockerfile:3: ConsistentInstructionCasing: Command 'ENV' should match the case of the command majority (lowercase)"},
		},
		"LegacyKeyValueFormat": {
			"FROM scratch\nENV A 1\nLABEL b 2\nENV C=3\n",
			[]string{
				"Dockerfile:2: LegacyKeyValueFormat: \"ENV key=value\" should be used instead of legacy \"ENV key value\" format",
				"Dockerfile:3: LegacyKeyValueFormat: \"LABEL key=value\" should be used instead of legacy \"LABEL key value\" format",
			},
		},
		"DuplicateStageName": {
			"FROM scratch AS a\nFROM scratch AS b\nFROM scratch AS a\n",
			[]string{"Dockerfile:3: DuplicateStageName: Duplicate stage name \"a\", stage names should be unique"},
		},
		"ReservedStageName": {
			"FROM busybox AS scratch\nFROM busybox AS context\n",
			[]string{
				"Dockerfile:1: ReservedStageName: Stage name should not use the same name as reserved stage \"scratch\"",
				"Dockerfile:2: ReservedStageName: Stage name should not use the same name as reserved stage \"context\"",
			},
		},
		"NoEmptyContinuation": {
			"FROM scratch\nCOPY a \\\n\n  /a\n",
			// BuildKit's parser places it on the instruction's last line.
			[]string{"Dockerfile:4: NoEmptyContinuation: Empty continuation line"},
		},
		"skipped by check directive": {
			"# check=skip=DuplicateStageName,ConsistentInstructionCasing\nFROM scratch AS a\nfrom scratch as a\n",
			nil,
		},
	} {
		t.Run(name, func(t *testing.T) {
			got := buildkitFindings(t, tc.src)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Fatalf("findings:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}
