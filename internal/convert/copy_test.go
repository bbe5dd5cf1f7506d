package convert

import (
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// lastCommand converts lines but the last instruction, and expands that one.
func lastCommand(t *testing.T, s *State, lines string) instructions.Command {
	t.Helper()
	cmds := commands(t, lines)
	for _, c := range cmds {
		if err := Expand("Dockerfile", s.Escape, c, s.ExpandEnv()); err != nil {
			t.Fatal(err)
		}
		if c == cmds[len(cmds)-1] {
			return c
		}
		if err := apply(t, s, c); err != nil {
			t.Fatal(err)
		}
	}
	return nil
}

func copyOf(t *testing.T, s *State, lines string) (Copy, error) {
	t.Helper()
	return CopyOf(s, lastCommand(t, s, lines).(*instructions.CopyCommand))
}

func TestCopy(t *testing.T) {
	cp, err := copyOf(t, newState(), "WORKDIR /app\nARG V=1\nCOPY --chown=10:20 --chmod=644 --exclude=*.md a b$V sub/\n")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cp.Srcs, []string{"a", "b1"}) || cp.Dest != "/app/sub/" || cp.Chown != "10:20" || cp.Chmod != "644" ||
		!slices.Equal(cp.Excludes, []string{"*.md"}) || !cp.FromContext || cp.From != "" {
		t.Errorf("copy %+v", cp)
	}
	if cp.Name != "COPY a b1 sub/" || cp.History != "COPY --chown=10:20 --chmod=644 a b1 sub/ # buildkit" {
		t.Errorf("name %q history %q (BuildKit records the destination as written)", cp.Name, cp.History)
	}
	cp, err = copyOf(t, newState(), "COPY --from=build --link --parents /out/./bin /dst/\n")
	if err != nil {
		t.Fatal(err)
	}
	if cp.FromContext || cp.From != "build" || !slices.Equal(cp.KeyOptions(), []string{"link", "parents"}) || cp.Name != "COPY --from=build /out/./bin /dst/" {
		t.Errorf("copy --from %+v", cp)
	}
	if cp.History != "COPY --parents /out/./bin /dst/ # buildkit" {
		t.Errorf("history %q", cp.History)
	}
}

func TestCopyHeredoc(t *testing.T) {
	cp, err := copyOf(t, newState(), "COPY <<EOT /etc/motd\nhello\nEOT\n")
	if err != nil {
		t.Fatal(err)
	}
	if cp.FromContext || len(cp.Inline) != 1 || !slices.Equal(cp.Srcs, []string{"EOT"}) || cp.Dest != "/etc/motd" {
		t.Errorf("heredoc copy %+v", cp)
	}
	if cp.History != "COPY <<EOT /etc/motd # buildkit" {
		t.Errorf("history %q", cp.History)
	}
}

func TestCopyRefusals(t *testing.T) {
	for line, want := range map[string]string{
		"COPY --link --chown=app a /d/\n":     "can't be resolved when used with --link",
		"COPY --chmod=99999 a /d/\n":          "invalid chmod parameter",
		"COPY --link --chown=1:staff a /d/\n": "can't be resolved when used with --link",
	} {
		if _, err := copyOf(t, newState(), line); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err %v, want %q", line, err, want)
		}
	}
	// Several sources onto a destination without a slash are each copied
	// onto it, as BuildKit: no refusal.
	for _, line := range []string{"COPY a b dest\n", "COPY *.go dest\n", "COPY a b dest/\n", "COPY a b .\n", "COPY --chmod=u+x a /d\n", "COPY --link --chown=1:2 a /d\n"} {
		if _, err := copyOf(t, newState(), line); err != nil {
			t.Errorf("%q: %v", line, err)
		}
	}
}
