package convert

import (
	"slices"
	"testing"
)

func TestCmd(t *testing.T) {
	s := convert(t, newState(), "CMD echo $HOME\n")
	if got := s.Img.Config.Config.Cmd; !slices.Equal(got, []string{"/bin/sh", "-c", "echo $HOME"}) {
		t.Errorf("shell-form CMD %q (the shell expands it)", got)
	}
	if got := lastHistory(t, s); got != `CMD ["/bin/sh" "-c" "echo $HOME"]` {
		t.Errorf("history %q", got)
	}
	//lint:ignore SA1019 BuildKit sets it on every CMD
	if !s.Img.Config.Config.ArgsEscaped {
		t.Error("ArgsEscaped not set, as BuildKit sets it on CMD")
	}
	s = convert(t, newState(), "SHELL [\"/bin/bash\", \"-eo\", \"pipefail\", \"-c\"]\nCMD make\nCMD [\"run\", \"x\"]\n")
	if got := s.Img.Config.Config.Cmd; !slices.Equal(got, []string{"run", "x"}) {
		t.Errorf("exec-form CMD %q", got)
	}
	s = convert(t, newState(), "SHELL [\"/bin/bash\", \"-c\"]\nCMD make\n")
	if got := s.Img.Config.Config.Cmd; !slices.Equal(got, []string{"/bin/bash", "-c", "make"}) {
		t.Errorf("CMD under SHELL %q", got)
	}
}
