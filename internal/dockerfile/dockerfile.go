// Package dockerfile is a thin adapter over BuildKit's Dockerfile parser: it
// parses a Dockerfile into BuildKit's AST and typed instructions, checks the
// parser directives, and turns BuildKit's errors into *LocationError.
package dockerfile

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// Dockerfile is a parsed Dockerfile.
type Dockerfile struct {
	Name     string                    // path as the user gave it, for errors
	AST      *parser.Result            // BuildKit's syntax tree (Warnings included)
	Stages   []instructions.Stage      // FROM blocks in file order
	MetaArgs []instructions.ArgCommand // ARGs before the first FROM
	Source   []byte                    // the file content
	Syntax   string                    // `# syntax=` image, "" if none
	Check    string                    // `# check=` value, "" if none
	Escape   rune                      // escape character (`# escape=`), '\\' by default
	Warnings []Warning                 // lint warnings BuildKit reported while parsing

	checkLine int
	// stageNodes[i] is stage i's part of AST.AST.Children (ReparseStage).
	stageNodes [][]*parser.Node
}

// Warning is a BuildKit lint finding.
type Warning struct {
	Rule        string
	Description string // the rule's one-line summary
	Message     string
	URL         string
	Location    Location
	Ranges      []parser.Range // BuildKit's source ranges, for --call=check
}

// Parse parses src, the content of the Dockerfile at name.
func Parse(name string, src []byte) (*Dockerfile, error) {
	if len(bytes.TrimSpace(src)) == 0 {
		return nil, &LocationError{File: name, Err: errors.New("the Dockerfile cannot be empty")}
	}
	df := &Dockerfile{Name: name, Source: src}
	if err := df.parseDirectives(); err != nil {
		return nil, err
	}
	ast, err := parser.Parse(bytes.NewReader(src))
	if err != nil {
		return nil, FromBuildKit(name, err)
	}
	df.AST = ast
	df.Escape = ast.EscapeToken
	df.stageNodes = splitStages(ast.AST.Children)
	lint, err := df.linter()
	if err != nil {
		return nil, err
	}
	stages, metaArgs, err := instructions.Parse(ast.AST, lint)
	if err != nil {
		return nil, FromBuildKit(name, err)
	}
	if len(stages) == 0 {
		return nil, &LocationError{File: name, Err: errors.New("dockerfile contains no stages to build")}
	}
	df.Stages, df.MetaArgs = stages, metaArgs
	return df, nil
}

// Reparse parses the instructions again from the AST, returning fresh
// copies. Expanding a command (convert.Expand) changes it in place, so every
// build of the same Dockerfile (one per platform) needs its own copies.
func (df *Dockerfile) Reparse() ([]instructions.Stage, []instructions.ArgCommand, error) {
	stages, metaArgs, err := instructions.Parse(df.AST.AST, linter.New(&linter.Config{}))
	if err != nil {
		return nil, nil, FromBuildKit(df.Name, err)
	}
	return stages, metaArgs, nil
}

// ReparseStage parses stage i's instructions again, as Reparse does, from
// its own part of the AST only: a build converts stage by stage, and
// parsing the whole file for each made a many-stage Dockerfile quadratic
// (5,000 stages: minutes).
func (df *Dockerfile) ReparseStage(i int) ([]instructions.Command, error) {
	if i < 0 || i >= len(df.stageNodes) {
		return nil, fmt.Errorf("%s has no stage %d", df.Name, i)
	}
	stages, _, err := instructions.Parse(&parser.Node{Children: df.stageNodes[i]}, linter.New(&linter.Config{}))
	if err != nil {
		return nil, FromBuildKit(df.Name, err)
	}
	if len(stages) != 1 {
		return nil, fmt.Errorf("%s: stage %d parsed as %d stages", df.Name, i, len(stages))
	}
	return stages[0].Commands, nil
}

// splitStages cuts the AST's nodes at each FROM, dropping what precedes the
// first (the global ARGs).
func splitStages(nodes []*parser.Node) [][]*parser.Node {
	var stages [][]*parser.Node
	for _, n := range nodes {
		if strings.EqualFold(n.Value, "from") {
			stages = append(stages, nil)
		}
		if len(stages) > 0 {
			stages[len(stages)-1] = append(stages[len(stages)-1], n)
		}
	}
	return stages
}

// Locate returns the Location of BuildKit parser ranges in this Dockerfile.
func (df *Dockerfile) Locate(ranges []parser.Range) Location {
	return Locate(df.Name, ranges)
}

func (df *Dockerfile) parseDirectives() error {
	if syntax, _, loc, ok := parser.DetectSyntax(df.Source); ok {
		df.Syntax = syntax
		if !IsBuiltinSyntax(syntax) {
			return ErrorAt(df.Locate(loc), &ErrCustomFrontend{Image: syntax})
		}
	}
	if check, _, loc, ok := parser.ParseDirective("check", df.Source); ok {
		df.Check = check
		df.checkLine = df.Locate(loc).Line
	}
	return nil
}

// linter collects BuildKit's lint warnings into df.Warnings, configured by
// the `# check=` directive as BuildKit does.
func (df *Dockerfile) linter() (*linter.Linter, error) {
	cfg, err := linter.ParseLintOptions(df.Check)
	if err != nil {
		return nil, &LocationError{File: df.Name, Line: df.checkLine, Err: fmt.Errorf("parsing check options: %w", err)}
	}
	cfg.Warn = func(rule, desc, url, msg string, loc []parser.Range) {
		df.Warnings = append(df.Warnings, Warning{
			Rule: rule, Description: desc, Message: msg, URL: url, Location: df.Locate(loc), Ranges: loc,
		})
	}
	return linter.New(cfg), nil
}
