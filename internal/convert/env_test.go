package convert

import (
	"slices"
	"testing"
)

func TestEnv(t *testing.T) {
	s := convert(t, newState(), "ENV A=1 B=\"two words\"\nENV A=$A-again C=${B}\n")
	want := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "A=1-again", "B=two words", "C=two words"}
	if got := s.Img.Env(); !slices.Equal(got, want) {
		t.Errorf("env %q, want %q (a redefinition keeps its place)", got, want)
	}
	if got := lastHistory(t, s); got != "ENV A=1-again C=two words" {
		t.Errorf("history %q", got)
	}
}
