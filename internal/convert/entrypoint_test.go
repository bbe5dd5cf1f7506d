package convert

import (
	"slices"
	"testing"
)

func TestEntrypoint(t *testing.T) {
	// An ENTRYPOINT drops the base image's CMD...
	s := newState()
	s.Img.Config.Config.Cmd = []string{"from-base"}
	convert(t, s, "ENTRYPOINT [\"/app\"]\n")
	if got := s.Img.Config.Config.Cmd; got != nil {
		t.Errorf("inherited CMD %q kept", got)
	}
	if got := s.Img.Config.Config.Entrypoint; !slices.Equal(got, []string{"/app"}) {
		t.Errorf("entrypoint %q", got)
	}
	if got := lastHistory(t, s); got != `ENTRYPOINT ["/app"]` {
		t.Errorf("history %q", got)
	}
	// ...but not a CMD of this stage, before or after it.
	s = convert(t, newState(), "CMD [\"--help\"]\nENTRYPOINT /app serve\n")
	if got := s.Img.Config.Config.Cmd; !slices.Equal(got, []string{"--help"}) {
		t.Errorf("the stage's CMD became %q", got)
	}
	if got := s.Img.Config.Config.Entrypoint; !slices.Equal(got, []string{"/bin/sh", "-c", "/app serve"}) {
		t.Errorf("shell-form entrypoint %q", got)
	}
}
