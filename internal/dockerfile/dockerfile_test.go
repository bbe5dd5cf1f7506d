package dockerfile

import (
	"errors"
	"reflect"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, src, want string
		line            int
	}{
		{"unknown instruction", "FROM alpine\nRUN true\nFORM x\n",
			"Dockerfile:3: unknown instruction: FORM (did you mean FROM?)", 3},
		{"custom syntax", "# syntax=example.com/my/frontend:2\nFROM alpine\n",
			"Dockerfile:1: custom Dockerfile frontends are not supported: example.com/my/frontend:2 (kiln has the dockerfile:1 syntax built in)", 1},
		{"bad stage name", "FROM alpine\nFROM alpine AS 1st\n",
			`Dockerfile:2: invalid name for build stage: "1st", name can't start with a number or contain symbols`, 2},
		{"instruction error", "FROM alpine\n\nCOPY \\\n  onlyone\n",
			"Dockerfile:3: COPY requires at least two arguments, but only one was provided. Destination could not be determined", 3},
		{"no stage", "# comment\nRUN true\n", "Dockerfile:2: no build stage in current context", 2},
		{"empty", "\n  \n", "Dockerfile: the Dockerfile cannot be empty", 0},
		{"only args", "ARG A=1\n", "Dockerfile: dockerfile contains no stages to build", 0},
		{"mount from variable", "FROM alpine\nRUN --mount=from=$X true\n",
			"Dockerfile:2: 'from' doesn't support variable expansion, define alias stage instead", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("Dockerfile", []byte(tt.src))
			if err == nil {
				t.Fatal("no error")
			}
			if err.Error() != tt.want {
				t.Errorf("error\n got %q\nwant %q", err.Error(), tt.want)
			}
			var le *LocationError
			if !errors.As(err, &le) {
				t.Fatalf("%T is not a *LocationError", err)
			}
			if le.Line != tt.line || le.File != "Dockerfile" {
				t.Errorf("location %s:%d, want Dockerfile:%d", le.File, le.Line, tt.line)
			}
		})
	}
}

func TestUnknownInstructionIsTyped(t *testing.T) {
	_, err := Parse("sub/Dockerfile.dev", []byte("FROM a\nFORM b\n"))
	var ui *instructions.UnknownInstructionError
	if !errors.As(err, &ui) || ui.Instruction != "FORM" {
		t.Fatalf("want UnknownInstructionError for FORM, got %v", err)
	}
	if got := err.Error(); got != "sub/Dockerfile.dev:2: unknown instruction: FORM (did you mean FROM?)" {
		t.Errorf("got %q", got)
	}
}

func TestBuiltinSyntax(t *testing.T) {
	tests := map[string]bool{
		"docker/dockerfile:1":                   true,
		"docker/dockerfile:1.4":                 true,
		"docker/dockerfile:1.7.1":               true,
		"docker/dockerfile:1-labs":              true,
		"docker/dockerfile:1.7-labs":            true,
		"docker.io/docker/dockerfile:1":         true,
		"docker.io/docker/dockerfile:1.4.3":     true,
		"docker/dockerfile":                     true,
		"docker/dockerfile-upstream:1":          true,
		"docker/dockerfile:0.9":                 false,
		"docker/dockerfile:2":                   false,
		"tonistiigi/dockerfile:1":               false,
		"ghcr.io/docker/dockerfile:1":           false,
		"docker/dockerfile:1@sha256:" + sha64(): true,
	}
	for image, want := range tests {
		if got := IsBuiltinSyntax(image); got != want {
			t.Errorf("IsBuiltinSyntax(%q) = %v, want %v", image, got, want)
		}
	}
}

func sha64() string {
	b := make([]byte, 64)
	for i := range b {
		b[i] = 'a'
	}
	return string(b)
}

func TestDirectives(t *testing.T) {
	src := "# syntax=docker/dockerfile:1.4\n# check=skip=StageNameCasing\n# escape=`\n" +
		"FROM alpine AS Build\nRUN echo a `\n    b && `\n    echo c\n"
	df, err := Parse("Dockerfile", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if df.Syntax != "docker/dockerfile:1.4" || df.Check != "skip=StageNameCasing" || df.Escape != '`' {
		t.Errorf("directives: syntax %q check %q escape %q", df.Syntax, df.Check, df.Escape)
	}
	if len(df.Warnings) != 0 {
		t.Errorf("check=skip ignored: %+v", df.Warnings)
	}
	run, ok := df.Stages[0].Commands[0].(*instructions.RunCommand)
	if !ok {
		t.Fatalf("first command is %T", df.Stages[0].Commands[0])
	}
	if got := run.CmdLine[0]; got != "echo a     b &&     echo c" {
		t.Errorf("continuation: got %q", got)
	}
	if loc := df.Locate(run.Location()); loc.Line != 5 || loc.EndLine != 7 {
		t.Errorf("RUN location %+v, want lines 5-7", loc)
	}
}

func TestLintWarnings(t *testing.T) {
	df, err := Parse("Dockerfile", []byte("FROM alpine AS base\nFROM base AS Final\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(df.Warnings) != 1 || df.Warnings[0].Rule != "StageNameCasing" || df.Warnings[0].Location.Line != 2 {
		t.Errorf("warnings: %+v", df.Warnings)
	}
}

func TestReparseGivesFreshCommands(t *testing.T) {
	df, err := Parse("Dockerfile", []byte("FROM alpine\nWORKDIR $D\n"))
	if err != nil {
		t.Fatal(err)
	}
	stages, _, err := df.Reparse()
	if err != nil {
		t.Fatal(err)
	}
	stages[0].Commands[0].(*instructions.WorkdirCommand).Path = "/changed"
	if got := df.Stages[0].Commands[0].(*instructions.WorkdirCommand).Path; got != "$D" {
		t.Errorf("Reparse shares commands: %q", got)
	}
}

// TestReparseStageMatchesReparse: one stage parsed from its own part of
// the AST gives the commands the whole file's parse gives it.
func TestReparseStageMatchesReparse(t *testing.T) {
	src := "# escape=`\nARG BASE=alpine\nfrom ${BASE} AS a\nRUN <<EOF\necho one\nEOF\n" +
		"ONBUILD RUN true\n# a comment\nCOPY --chmod=644 x `\n  /y\n" +
		"FROM a AS b\nRUN --mount=type=cache,target=/c echo\nARG X\nFROM scratch\nCOPY --from=b / /\n"
	df, err := Parse("Dockerfile", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	stages, _, err := df.Reparse()
	if err != nil {
		t.Fatal(err)
	}
	for i, st := range stages {
		got, err := df.ReparseStage(i)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, st.Commands) {
			t.Errorf("stage %d: %#v, want %#v", i, got, st.Commands)
		}
	}
	if _, err := df.ReparseStage(len(stages)); err == nil {
		t.Errorf("stage %d of %d parsed", len(stages), len(stages))
	}
}
