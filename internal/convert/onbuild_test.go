package convert

import (
	"slices"
	"testing"
)

func TestOnbuild(t *testing.T) {
	s := convert(t, newState(), "ONBUILD RUN make $TARGET\nONBUILD COPY . /src\n")
	if got := s.Img.Config.Config.OnBuild; !slices.Equal(got, []string{"RUN make $TARGET", "COPY . /src"}) {
		t.Errorf("triggers %q (kept unexpanded for the image built on this one)", got)
	}
	if h := s.Img.Config.History; len(h) != 0 {
		t.Errorf("ONBUILD added history %+v; BuildKit adds none", h)
	}
}
