// An external test package: convert imports plan.
package plan_test

import (
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"

	"github.com/kiln-build/kiln/internal/convert"
	"github.com/kiln-build/kiln/internal/plan"
)

func TestExpandCommand(t *testing.T) {
	src := "FROM alpine\nARG DIR\nWORKDIR $DIR/sub\nCOPY --chown=$U:$U a $DIR/\nENV PATH=$DIR/bin:$PATH\nRUN echo $DIR\nUSER ${U:?user required}\n"
	p := mustPlan(t, src, opts("", nil))
	env := []string{"PATH=/bin", "DIR=/app", "U=app"}
	cmds := p.Target.Commands
	for _, c := range cmds {
		if err := convert.Expand(p.File, p.Escape, c, env); err != nil {
			t.Fatalf("%s: %v", c.Name(), err)
		}
	}
	if got := cmds[1].(*instructions.WorkdirCommand).Path; got != "/app/sub" {
		t.Errorf("WORKDIR %q", got)
	}
	cp := cmds[2].(*instructions.CopyCommand)
	if cp.Chown != "app:app" || cp.DestPath != "/app/" {
		t.Errorf("COPY chown %q dest %q", cp.Chown, cp.DestPath)
	}
	if got := cmds[3].(*instructions.EnvCommand).Env[0].Value; got != "/app/bin:/bin" {
		t.Errorf("ENV %q", got)
	}
	// RUN's shell form is left to the shell.
	if got := cmds[4].(*instructions.RunCommand).CmdLine[0]; got != "echo $DIR" {
		t.Errorf("RUN %q", got)
	}
	if got := cmds[5].(*instructions.UserCommand).User; got != "app" {
		t.Errorf("USER %q", got)
	}
}

func TestExpandCommandError(t *testing.T) {
	p := mustPlan(t, "FROM alpine\n\nUSER ${U:?user required}\n", opts("", nil))
	err := convert.Expand(p.File, p.Escape, p.Target.Commands[0], nil)
	if err == nil || err.Error()[:13] != "Dockerfile:3:" {
		t.Fatalf("want error at Dockerfile:3, got %v", err)
	}
}

func TestPlansHaveOwnCommands(t *testing.T) {
	df := parse(t, "FROM alpine\nWORKDIR /$TARGETARCH\n")
	p1, err := plan.New(df, opts("", nil))
	if err != nil {
		t.Fatal(err)
	}
	p2, err := plan.New(df, opts("", nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := convert.Expand(p1.File, p1.Escape, p1.Target.Commands[0], []string{"TARGETARCH=arm64"}); err != nil {
		t.Fatal(err)
	}
	if got := p2.Target.Commands[0].(*instructions.WorkdirCommand).Path; got != "/$TARGETARCH" {
		t.Errorf("plans share commands: %q", got)
	}
}

func TestEscapeDirective(t *testing.T) {
	src := "# escape=`\nARG WIN=mcr.microsoft.com/windows/nanoserver:ltsc2022\nFROM $WIN AS base\n" +
		"WORKDIR C:\\app\nCOPY a `\n     b `\n     C:\\dst\\\nFROM base\n"
	p := mustPlan(t, src, opts("", nil))
	if p.Escape != '`' || p.Stages[0].Base.Image != "mcr.microsoft.com/windows/nanoserver:ltsc2022" {
		t.Fatalf("escape %q base %v", p.Escape, p.Stages[0].Base)
	}
	cmds := p.Stages[0].Commands
	for _, c := range cmds {
		if err := convert.Expand(p.File, p.Escape, c, nil); err != nil {
			t.Fatal(err)
		}
	}
	if got := cmds[0].(*instructions.WorkdirCommand).Path; got != `C:\app` {
		t.Errorf("WORKDIR %q (backslash must stay literal)", got)
	}
	cp := cmds[1].(*instructions.CopyCommand)
	if len(cp.SourcePaths) != 2 || cp.DestPath != `C:\dst\` {
		t.Errorf("COPY sources %q dest %q", cp.SourcePaths, cp.DestPath)
	}
	if loc := p.Stages[0].Location; loc.Line != 3 {
		t.Errorf("FROM line %d", loc.Line)
	}
}

// A solve expands fresh copies: the plan's commands stay as parsed, and a
// second solve of the same plan expands the unexpanded text again.
func TestInstructionsAreFreshCopies(t *testing.T) {
	p := mustPlan(t, "FROM alpine\nWORKDIR $DIR/sub\nRUN echo $DIR\n", opts("", nil))
	for _, dir := range []string{"/a", "/b"} {
		cmds, err := p.Instructions(p.Target)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cmds {
			if err := convert.Expand(p.File, p.Escape, c, []string{"DIR=" + dir}); err != nil {
				t.Fatal(err)
			}
		}
		if got := cmds[0].(*instructions.WorkdirCommand).Path; got != dir+"/sub" {
			t.Errorf("solve with DIR=%s: WORKDIR %q", dir, got)
		}
	}
	if got := p.Target.Commands[0].(*instructions.WorkdirCommand).Path; got != "$DIR/sub" {
		t.Errorf("the plan's WORKDIR became %q: a solve changed the plan", got)
	}
	if got := p.Target.Commands[1].(*instructions.RunCommand).CmdLine; got[0] != "echo $DIR" {
		t.Errorf("the plan's RUN became %q", got)
	}
}
