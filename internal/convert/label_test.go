package convert

import "testing"

func TestLabel(t *testing.T) {
	s := convert(t, newState(), "ARG V=1.0\nLABEL version=$V \"a b\"=c\nLABEL version=2\n")
	labels := s.Img.Config.Config.Labels
	if labels["version"] != "2" || labels["a b"] != "c" || len(labels) != 2 {
		t.Errorf("labels %v", labels)
	}
	if got := lastHistory(t, s); got != "LABEL version=2" {
		t.Errorf("history %q", got)
	}
}
