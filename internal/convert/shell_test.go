package convert

import (
	"slices"
	"testing"
)

func TestShell(t *testing.T) {
	s := convert(t, newState(), "SHELL [\"pwsh\", \"-Command\"]\n")
	if got := s.Img.Config.Config.Shell; !slices.Equal(got, []string{"pwsh", "-Command"}) {
		t.Errorf("shell %q", got)
	}
	if got := lastHistory(t, s); got != "SHELL [pwsh -Command]" {
		t.Errorf("history %q", got)
	}
}
