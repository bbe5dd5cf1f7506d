package convert

import (
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// Expand expands what BuildKit expands and leaves RUN's shell form and ARG
// to others; its errors name the Dockerfile line.
func TestExpand(t *testing.T) {
	cmds := commands(t, "COPY --chown=$U:$U a $DIR/\nRUN echo $DIR\nARG X=$DIR\n\nUSER ${U:?user required}\n")
	env := []string{"DIR=/app", "U=app"}
	for _, c := range cmds[:3] {
		if err := Expand("Dockerfile", '\\', c, env); err != nil {
			t.Fatal(err)
		}
	}
	if cp := cmds[0].(*instructions.CopyCommand); cp.Chown != "app:app" || cp.DestPath != "/app/" {
		t.Errorf("COPY chown %q dest %q", cp.Chown, cp.DestPath)
	}
	if got := cmds[1].(*instructions.RunCommand).CmdLine[0]; got != "echo $DIR" {
		t.Errorf("RUN %q: the shell expands it", got)
	}
	if got := *cmds[2].(*instructions.ArgCommand).Args[0].Value; got != "$DIR" {
		t.Errorf("ARG default %q: its value is scope's", got)
	}
	err := Expand("Dockerfile", '\\', cmds[3], nil)
	if err == nil || !strings.HasPrefix(err.Error(), "Dockerfile:6:") {
		t.Errorf("error %v, want one at Dockerfile:6", err)
	}
}
